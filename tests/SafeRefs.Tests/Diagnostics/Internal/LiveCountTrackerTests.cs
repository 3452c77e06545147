using System.Reflection;
using SafeRefs.Diagnostics.Internal;

namespace SafeRefs.Tests.Diagnostics.Internal;

/// <summary>
/// <see cref="LiveCountTracker"/> and <see cref="LiveCountSet"/>: counts are observed from live primitives only, and
/// the library keeps to its finalizer rule (a finalizer touches no other object): only the audited types declare one.
/// </summary>
public sealed class LiveCountTrackerTests
{
    [Fact]
    public void Observe_TwoOwnersSameTag_SummedIntoOneMeasurement()
    {
        var set = new LiveCountSet();
        var tag = new KeyValuePair<string, object?>("saferefs.timer.scope.name", "a");
        var first = new LiveCountTracker(tag);
        var second = new LiveCountTracker(tag);
        var other = new LiveCountTracker(new KeyValuePair<string, object?>("saferefs.timer.scope.name", "b"));
        var owners = new object[] { new(), new(), new() };
        set.Register(owners[0], first);
        set.Register(owners[1], second);
        set.Register(owners[2], other);
        first.Increment();
        first.Increment();
        second.Increment();
        other.Increment();
        other.Decrement();

        var measurements = set.Observe();

        Assert.Equal(2, measurements.Count);
        Assert.Equal(3, measurements.Single(m => Equals(m.Tags[0].Value, "a")).Value);
        Assert.Equal(0, measurements.Single(m => Equals(m.Tags[0].Value, "b")).Value);
        GC.KeepAlive(owners);
    }

    [Fact]
    public void Finalizers_OnlyAuditedTypesDeclareOne()
    {
        // Each of these touches only its own handles and fields, or queues work on the thread pool (see their remarks);
        // any new finalizer needs the same audit before it joins the list.
        string[] audited =
        [
            "SafeRefs.Events.Internal.CollectedListReleaser",
            "SafeRefs.Internal.PurgeRegistry+Gen2Sentinel",
            "SafeRefs.Timers.Internal.LifetimeRegistration",
        ];

        var declaring = typeof(LiveCountTracker).Assembly.GetTypes()
            .Where(static t => t.GetMethod("Finalize", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.DeclaredOnly) is not null)
            .Select(static t => t.FullName!)
            .Order(StringComparer.Ordinal)
            .ToArray();

        Assert.Equal(audited, declaring);
    }
}
