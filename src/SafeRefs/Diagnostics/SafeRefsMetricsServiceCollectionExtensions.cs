using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics;

namespace SafeRefs.Diagnostics;

/// <summary>Turns the SafeRefs meter on in an application's dependency-injection metrics pipeline.</summary>
/// <remarks>
/// <para>Primitives that a container creates (<c>AddBoundedMemoryCache</c>, <c>AddGuardedObjectPool</c>) record through
/// the <see cref="System.Diagnostics.Metrics.Meter"/> named <see cref="SafeRefsMeter.Name"/> that the container's
/// <see cref="System.Diagnostics.Metrics.IMeterFactory"/> creates (register one with <c>services.AddMetrics()</c>;
/// hosts do): that meter is disposed with the container and is seen by listeners scoped to the factory, such as
/// <c>MetricCollector&lt;T&gt;(meterFactory, "SafeRefs", …)</c>. Primitives created with <c>new</c> record through the
/// process-wide static <c>SafeRefs</c> meter unless their options name a <c>MeterFactory</c>. These methods add an
/// enable rule for the meter name to <see cref="MetricsOptions"/>, so listeners registered through
/// <see cref="IMetricsBuilder"/> receive the instruments of both; <c>dotnet-counters</c> and OpenTelemetry's
/// <c>AddMeter("SafeRefs")</c> select meters by name and need no registration.</para>
/// <para><b>Holds</b> nothing; <b>thread safety:</b> registration is not thread-safe, like any
/// <see cref="IServiceCollection"/> change. Calling it twice adds a second, identical rule.</para>
/// </remarks>
public static class SafeRefsMetricsServiceCollectionExtensions
{
    /// <summary>Enables every SafeRefs instrument for the listeners of the container's metrics pipeline.</summary>
    /// <param name="services">The service collection.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static IServiceCollection AddSafeRefsMetrics(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions();
        services.Configure<MetricsOptions>(static options => options.EnableMetrics(SafeRefsMeter.Name));
        return services;
    }

    /// <summary>Enables every SafeRefs instrument for the listeners of this metrics builder.</summary>
    /// <param name="builder">The metrics builder (from <c>services.AddMetrics(builder =&gt; ...)</c>).</param>
    /// <returns><paramref name="builder"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    public static IMetricsBuilder AddSafeRefs(this IMetricsBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.EnableMetrics(SafeRefsMeter.Name);
    }
}
