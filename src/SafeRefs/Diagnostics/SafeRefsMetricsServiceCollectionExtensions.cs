using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics;

namespace SafeRefs.Diagnostics;

/// <summary>Turns the SafeRefs meter on in an application's dependency-injection metrics pipeline.</summary>
/// <remarks>
/// <para>SafeRefs records through one process-wide, static <see cref="System.Diagnostics.Metrics.Meter"/> named
/// <see cref="SafeRefsMeter.Name"/>: its primitives are created with <c>new</c> as often as through a container, and
/// their hot paths read static instruments so that recording costs one flag read when nobody listens. The meter is
/// therefore <b>not</b> created by <see cref="System.Diagnostics.Metrics.IMeterFactory"/> and is not scoped to (or
/// disposed with) a container; a listener that selects meters by factory scope does not see it. These methods add an
/// enable rule for the meter name to <see cref="MetricsOptions"/>, so listeners registered through
/// <see cref="IMetricsBuilder"/> receive its instruments; <c>dotnet-counters</c> and OpenTelemetry's
/// <c>AddMeter("SafeRefs")</c> select it by name and need no registration.</para>
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
