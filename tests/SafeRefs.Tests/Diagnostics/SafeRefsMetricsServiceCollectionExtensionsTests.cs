using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using SafeRefs.Diagnostics;

namespace SafeRefs.Tests.Diagnostics;

public sealed class SafeRefsMetricsServiceCollectionExtensionsTests
{
    [Fact]
    public void AddSafeRefsMetrics_AddsEnableRuleForTheSafeRefsMeter()
    {
        var services = new ServiceCollection();

        Assert.Same(services, services.AddSafeRefsMetrics());

        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<MetricsOptions>>().Value;
        var rule = Assert.Single(options.Rules);
        Assert.Equal(SafeRefsMeter.Name, rule.MeterName);
        Assert.True(rule.Enable);
    }

    [Fact]
    public void AddSafeRefsMetrics_Null_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => ((IServiceCollection)null!).AddSafeRefsMetrics());
        Assert.Throws<ArgumentNullException>(() => ((IMetricsBuilder)null!).AddSafeRefs());
    }
}
