using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using SafeRefs.Diagnostics;
using SafeRefs.Events;

namespace SafeRefs.Tests.Docs;

/// <summary>The examples of the "Metrics and logs" section of docs/diagnostics.md, compiled and run.</summary>
public sealed class DiagnosticsDocs
{
    [Fact]
    public void Diagnostics_AddSafeRefsMetrics_EnablesTheMeter()
    {
        var services = new ServiceCollection();
        #region docs-diagnostics-di
        services.AddSafeRefsMetrics();   // enable rule for the "SafeRefs" meter in the DI metrics pipeline
        #endregion
        using var provider = services.BuildServiceProvider();
        Assert.Contains(provider.GetRequiredService<IOptions<MetricsOptions>>().Value.Rules, r => r.MeterName == SafeRefsMeter.Name);
    }

    [Fact]
    public void Diagnostics_InProcessListener_SeesWeakEventHandlers()
    {
        var eventName = "docs-" + Guid.NewGuid().ToString("N");
        long handlers = 0;
        #region docs-diagnostics-listener
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SafeRefsMeter.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (instrument.Name == "saferefs.weak_events.handlers" && tag.Key == "event.name" && (string?)tag.Value == eventName)
                {
                    Interlocked.Add(ref handlers, value);
                }
            }
        });
        listener.Start();
        #endregion

        var ev = new WeakEvent<int>(new WeakEventOptions { Name = eventName });
        var owner = new object();
        using (ev.Subscribe(owner, static (_, _, _) => { }))
        {
            Assert.Equal(1, Interlocked.Read(ref handlers));
        }

        Assert.Equal(0, Interlocked.Read(ref handlers));
    }
}
