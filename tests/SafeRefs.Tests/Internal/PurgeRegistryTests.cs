using SafeRefs.Internal;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Internal;

/// <summary>The one purge registry type that weak links and weak handler lists share, and its gen-2 callback.</summary>
[Collection(GcCollection.Name)]
public sealed class PurgeRegistryTests
{
    // Every registry made for gen-2 purges is purged on the thread pool after a full collection; the control twin, made
    // without, is not.
    [Fact]
    public void FullCollection_PurgesEveryGen2RegistryOnTheThreadPool_Control_NotAnotherOne()
    {
        var first = new PurgeRegistry();
        var second = new PurgeRegistry();
        var control = new PurgeRegistry(purgeAfterGen2: false);
        var a = new Item(first) { DetachOnPurge = true };
        var b = new Item(second) { DetachOnPurge = true };
        var c = new Item(control) { DetachOnPurge = true };
        first.Register(a);
        second.Register(b);
        control.Register(c);

        GcAssert.FullCollect();

        Assert.True(SpinWait.SpinUntil(() => a.Purges > 0 && b.Purges > 0, TimeSpan.FromSeconds(30)), "no purge after a full collection");
        Assert.True(a.OnThreadPool && b.OnThreadPool, "a gen-2 purge ran off the thread pool");
        Assert.False(a.LastOnOwnThread || b.LastOnOwnThread);
        Assert.Equal(0, c.Purges);
        Assert.Equal(0, first.Count + second.Count);
    }

    // "One gen-2 callback for the whole library": the only self-re-registering finalizers are this sentinel and the
    // weak events' two-pass releaser (which runs once per list, not per collection).
    [Fact]
    public void Library_HasOneGen2Callback()
    {
        var src = Path.Combine(Docs.DocSnippetTests.RepositoryRoot(), "src", "SafeRefs");
        var reRegistering = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => File.ReadAllText(f).Contains("GC.ReRegisterForFinalize(", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(src, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToArray();

        Assert.Equal(["Events/Internal/CollectedListReleaser.cs", "Internal/PurgeRegistry.cs"], reRegistering);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(Path.Combine(src, "Internal", "PurgeRegistry.cs")), @"new Gen2Sentinel\("));
    }

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

        public bool OnThreadPool { get; private set; }

        public Exception? Reported { get; private set; }

        public bool TryPurge(bool onOwnThread)
        {
            LastOnOwnThread = onOwnThread;
            OnThreadPool = Thread.CurrentThread.IsThreadPoolThread;
            Purges++; // last: a test that waits for it then reads the rest
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
