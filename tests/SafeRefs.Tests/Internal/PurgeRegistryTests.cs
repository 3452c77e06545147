using SafeRefs.Internal;

namespace SafeRefs.Tests.Internal;

/// <summary>The one purge registry that weak links and weak handler lists share.</summary>
public sealed class PurgeRegistryTests
{
    [Fact]
    public void Purge_ItemThrows_ReportedThroughTheItemAndTheNextItemIsStillPurged()
    {
        var registry = new PurgeRegistry(purgeAfterGen2: false);
        var throwing = new Item(registry) { Throws = true };
        var next = new Item(registry) { DetachOnPurge = true };
        registry.Register(throwing);
        registry.Register(next);

        var detached = registry.Purge(onOwnThread: false);

        Assert.Equal(1, detached);
        Assert.IsType<InvalidOperationException>(throwing.Reported);
        Assert.Equal(1, next.Purges);
        Assert.False(next.LastOnOwnThread);
        Assert.Equal(1, registry.Count);
        Assert.Equal(1, registry.PurgesCompleted);
    }

    [Fact]
    public void Unregister_SwapRemoves_AndIsIdempotent()
    {
        var registry = new PurgeRegistry(purgeAfterGen2: false);
        var items = Enumerable.Range(0, 100).Select(_ => new Item(registry)).ToArray();
        foreach (var item in items)
        {
            registry.Register(item);
        }

        foreach (var item in items.Where((_, i) => i % 3 == 0))
        {
            registry.Unregister(item);
            registry.Unregister(item);
            Assert.Equal(-1, item.RegistryIndex);
        }

        _ = registry.Purge();
        Assert.Equal(66, registry.Count);
        Assert.All(items.Where((_, i) => i % 3 != 0), item => Assert.Equal(1, item.Purges));
        Assert.All(items.Where((_, i) => i % 3 == 0), item => Assert.Equal(0, item.Purges));
    }

    [Fact]
    public void Register_EveryMinimumIntervalRegistrations_PurgesOnTheCallingThread()
    {
        var registry = new PurgeRegistry(purgeAfterGen2: false);
        var first = new Item(registry);
        registry.Register(first);
        for (var i = 1; i < 255; i++)
        {
            registry.Register(new Item(registry) { DetachOnPurge = true });
        }

        Assert.Equal(0, first.Purges);
        registry.Register(new Item(registry) { DetachOnPurge = true });

        Assert.Equal(1, first.Purges);
        Assert.True(first.LastOnOwnThread);
        Assert.Equal(1, registry.Count);
    }

    private sealed class Item(PurgeRegistry registry) : IPurgeable
    {
        public int RegistryIndex { get; set; } = -1;

        public bool Throws { get; init; }

        public bool DetachOnPurge { get; init; }

        public int Purges { get; private set; }

        public bool LastOnOwnThread { get; private set; }

        public Exception? Reported { get; private set; }

        public bool TryPurge(bool onOwnThread)
        {
            Purges++;
            LastOnOwnThread = onOwnThread;
            if (Throws)
            {
                throw new InvalidOperationException("listener");
            }

            if (DetachOnPurge)
            {
                registry.Unregister(this);
                return true;
            }

            return false;
        }

        public void ReportPurgeFailed(Exception exception) => Reported = exception;
    }
}
