using System.Runtime.CompilerServices;
using SafeRefs.Testing.Tests.Infrastructure;

namespace SafeRefs.Testing.Tests;

[Collection(GcCollection.Name)]
public sealed class LeakTrackerTests
{
    [Fact]
    public void Survivors_RootedAndDroppedObjects_ListsOnlyRootedLabels()
    {
        var tracker = new LeakTracker();
        var publisher = new Publisher();
        TrackSubscribers(tracker, publisher);

        Assert.Equal(["kept-1", "kept-2"], tracker.Survivors());
        Assert.Equal(2, tracker.AliveCount());
        Assert.Equal(4, tracker.TrackedCount);
        GC.KeepAlive(publisher);
    }

    [Fact]
    public void AssertAllCollected_Survivors_ThrowsNamingEachAndCount()
    {
        var tracker = new LeakTracker();
        var publisher = new Publisher();
        TrackSubscribers(tracker, publisher);

        var ex = Assert.Throws<ObjectNotCollectedException>(tracker.AssertAllCollected);

        Assert.Contains("2 of 4", ex.Message, StringComparison.Ordinal);
        Assert.Contains("kept-1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("kept-2", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("dropped", ex.Message, StringComparison.Ordinal);
        Assert.Equal(["kept-1", "kept-2"], ex.Survivors);
        GC.KeepAlive(publisher);
    }

    [Fact]
    public void AssertAllCollected_AllDropped_Passes()
    {
        var tracker = new LeakTracker();
        TrackDropped(tracker, 5);

        tracker.AssertAllCollected();
        Assert.Equal(0, tracker.AliveCount());
        Assert.Empty(tracker.Survivors());
    }

    [Fact]
    public void AssertAllCollected_UndisposedRegistration_Throws()
    {
        var tracker = new LeakTracker();
        using var source = new CancellationTokenSource();
        TrackRegistered(tracker, source);

        var ex = Assert.Throws<ObjectNotCollectedException>(tracker.AssertAllCollected);
        Assert.Contains("registered", ex.Message, StringComparison.Ordinal);
        GC.KeepAlive(source);
    }

    [Fact]
    public void Track_NoLabel_UsesTypeNameAndIndex()
    {
        var tracker = new LeakTracker();
        var publisher = new Publisher();
        TrackUnlabelled(tracker, publisher);

        Assert.Equal(["Subscriber#1"], tracker.Survivors());
        GC.KeepAlive(publisher);
    }

    [Fact]
    public void Track_NullTarget_Throws()
    {
        Assert.Throws<ArgumentNullException>("target", () => new LeakTracker().Track(null!));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void TrackSubscribers(LeakTracker tracker, Publisher publisher)
    {
        var kept1 = new Subscriber();
        var kept2 = new Subscriber();
        publisher.Changed += kept1.OnChanged;
        publisher.Changed += kept2.OnChanged;
        tracker.Track(new Subscriber(), "dropped-1");
        tracker.Track(kept1, "kept-1");
        tracker.Track(new Payload(), "dropped-2");
        tracker.Track(kept2, "kept-2");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void TrackDropped(LeakTracker tracker, int count)
    {
        for (var i = 0; i < count; i++)
        {
            tracker.Track(new FinalizablePayload());
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    [System.Diagnostics.CodeAnalysis.SuppressMessage(
        "Reliability",
        "SR1005:CancellationToken registration is discarded",
        Justification = "Deliberate: the undisposed registration is the leak this test makes LeakTracker find.")]
    private static void TrackRegistered(LeakTracker tracker, CancellationTokenSource source)
    {
        var payload = new Payload();
        source.Token.Register(() => payload.Touch());
        tracker.Track(payload, "registered");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void TrackUnlabelled(LeakTracker tracker, Publisher publisher)
    {
        var kept = new Subscriber();
        publisher.Changed += kept.OnChanged;
        tracker.Track(new Payload());
        tracker.Track(kept);
    }
}
