using System.Runtime.CompilerServices;
using SafeRefs.Testing.Tests.Infrastructure;

namespace SafeRefs.Testing.Tests;

[Collection(GcCollection.Name)]
public sealed class GcAssertTests
{
    [Fact]
    public void Collected_DroppedObject_Passes()
    {
        GcAssert.Collected(Rooting.Dropped());
    }

    [Fact]
    public void Collected_DroppedFinalizableObject_Passes()
    {
        GcAssert.Collected(Rooting.DroppedFinalizable());
    }

    [Fact]
    public void Collected_ObjectRootedByStaticField_Throws()
    {
        var reference = Rooting.RootedByStaticField();
        try
        {
            var ex = Assert.Throws<ObjectNotCollectedException>(() => GcAssert.Collected(reference, "nothing should hold it"));
            Assert.Contains("still alive", ex.Message, StringComparison.Ordinal);
            Assert.Contains("nothing should hold it", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            Rooting.ReleaseStaticRoots(reference);
        }
    }

    [Fact]
    public void Collected_FinalizableObjectRootedByStaticField_Throws()
    {
        var reference = Rooting.RootedFinalizableByStaticField();
        try
        {
            Assert.Throws<ObjectNotCollectedException>(() => GcAssert.Collected(reference));
        }
        finally
        {
            Rooting.ReleaseStaticRoots(reference);
        }
    }

    [Fact]
    public void Collected_SubscriberOfLivePublisher_Throws()
    {
        var publisher = new Publisher();
        var subscriber = Rooting.SubscribedTo(publisher);

        Assert.Throws<ObjectNotCollectedException>(() => GcAssert.Collected(subscriber));
        GC.KeepAlive(publisher);
    }

    [Fact]
    public void Collected_UnsubscribedSubscriberOfLivePublisher_Passes()
    {
        var publisher = new Publisher();
        var subscriber = Rooting.SubscribedThenUnsubscribed(publisher);

        GcAssert.Collected(subscriber);
        GC.KeepAlive(publisher);
    }

    [Fact]
    public void Collected_CaptureOfUndisposedRegistration_Throws()
    {
        using var source = new CancellationTokenSource();
        var payload = Rooting.CapturedByRegistration(source, disposeRegistration: false);

        Assert.Throws<ObjectNotCollectedException>(() => GcAssert.Collected(payload));
        GC.KeepAlive(source);
    }

    [Fact]
    public void Collected_CaptureOfDisposedRegistration_Passes()
    {
        using var source = new CancellationTokenSource();
        var payload = Rooting.CapturedByRegistration(source, disposeRegistration: true);

        GcAssert.Collected(payload);
        GC.KeepAlive(source);
    }

    [Fact]
    public void Collected_SubscriberOfRunningSystemTimer_Throws()
    {
        var (subscriber, timer) = Rooting.SubscribedToRunningTimer(disposeTimer: false);
        try
        {
            Assert.Throws<ObjectNotCollectedException>(() => GcAssert.Collected(subscriber));
        }
        finally
        {
            Rooting.StopTimer(timer);
        }
    }

    [Fact]
    public void Collected_SubscriberOfDisposedSystemTimer_Passes()
    {
        var (subscriber, timer) = Rooting.SubscribedToRunningTimer(disposeTimer: true);

        GcAssert.Collected(subscriber);
        GcAssert.Collected(timer);
    }

    [Fact]
    public void Collected_KeyHeldOnlyByConditionalWeakTable_Passes()
    {
        var table = new ConditionalWeakTable<object, object>();
        var key = Rooting.KeyOnlyInWeakTable(table);

        GcAssert.Collected(key);
        GC.KeepAlive(table);
    }

    [Fact]
    public void Collected_ValueOfDroppedKeyInConditionalWeakTable_Passes()
    {
        var table = new ConditionalWeakTable<object, object>();
        var value = Rooting.ValueOfDroppedKey(table);

        GcAssert.Collected(value);
        GC.KeepAlive(table);
    }

    [Fact]
    public void Collected_ValueOfLiveKeyInConditionalWeakTable_Throws()
    {
        var table = new ConditionalWeakTable<object, object>();
        var key = new object();
        var value = Rooting.ValueOfKey(table, key);

        Assert.Throws<ObjectNotCollectedException>(() => GcAssert.Collected(value));
        GC.KeepAlive(key);
        GC.KeepAlive(table);
    }

    [Fact]
    public void NotCollected_ObjectRootedByStaticField_Passes()
    {
        var reference = Rooting.RootedByStaticField();
        try
        {
            GcAssert.NotCollected(reference);
        }
        finally
        {
            Rooting.ReleaseStaticRoots(reference);
        }
    }

    [Fact]
    public void NotCollected_SubscriberOfLivePublisher_Passes()
    {
        var publisher = new Publisher();
        var subscriber = Rooting.SubscribedTo(publisher);

        GcAssert.NotCollected(subscriber, "the publisher holds its handler");
        GC.KeepAlive(publisher);
    }

    [Fact]
    public void NotCollected_DroppedObject_Throws()
    {
        var ex = Assert.Throws<ObjectNotCollectedException>(() => GcAssert.NotCollected(Rooting.Dropped(), "the test expects a root"));
        Assert.Contains("was collected", ex.Message, StringComparison.Ordinal);
        Assert.Contains("the test expects a root", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NotCollected_DroppedFinalizableObject_Throws()
    {
        Assert.Throws<ObjectNotCollectedException>(() => GcAssert.NotCollected(Rooting.DroppedFinalizable()));
    }

    [Fact]
    public void Track_Factory_ReturnsLiveWeakReferenceUntilCollected()
    {
        var publisher = new Publisher();
        var reference = GcAssert.Track(() => new Subscriber());
        var rooted = GcAssert.Track(() =>
        {
            var s = new Subscriber();
            publisher.Changed += s.OnChanged;
            return s;
        });

        GcAssert.Collected(reference);
        GcAssert.NotCollected(rooted);
        GC.KeepAlive(publisher);
    }

    [Fact]
    public void CollectedOfFactory_DroppedObject_Passes()
    {
        GcAssert.Collected(() => new Payload());
    }

    [Fact]
    public void CollectedOfFactory_ObjectSubscribedToLivePublisher_Throws()
    {
        var publisher = new Publisher();

        Assert.Throws<ObjectNotCollectedException>(() => GcAssert.Collected(() =>
        {
            var s = new Subscriber();
            publisher.Changed += s.OnChanged;
            return s;
        }));
        GC.KeepAlive(publisher);
    }

    [Fact]
    public void Track_NullFactory_Throws()
    {
        Assert.Throws<ArgumentNullException>("factory", () => GcAssert.Track<object>(null!));
        Assert.Throws<ArgumentNullException>("factory", () => GcAssert.Collected<object>(null!));
    }

    [Fact]
    public void Track_FactoryReturnsNull_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => GcAssert.Track<object>(() => null!));
    }

    [Fact]
    public void Collected_NullReference_Throws()
    {
        Assert.Throws<ArgumentNullException>("reference", () => GcAssert.Collected(null!));
        Assert.Throws<ArgumentNullException>("reference", () => GcAssert.NotCollected(null!));
    }
}
