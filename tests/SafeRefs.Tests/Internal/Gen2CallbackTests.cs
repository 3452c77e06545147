using System.Runtime.CompilerServices;
using SafeRefs.Internal;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Internal;

[Collection(GcCollection.Name)]
public sealed class Gen2CallbackTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public void Register_TargetAlive_CalledOnThreadPoolAfterFullCollectionsUntilItReturnsFalse()
    {
        var target = new object();
        var calls = new Calls(stopAfter: 2);
        var sentinel = RegisterNew(target, calls);

        GcAssert.FullCollect();
        Assert.True(calls.Called.Wait(Wait), "no call after the first full collection");
        GcAssert.FullCollect();
        Assert.True(calls.Called.Wait(Wait), "no call after the second full collection");

        Assert.Equal(2, Volatile.Read(ref calls.Count));
        Assert.True(calls.AllOnThreadPool, "the callback ran on the finalizer thread");
        GcAssert.Collected(sentinel, "a callback that returned false stops the sentinel, which is then collected");
        Assert.Equal(2, Volatile.Read(ref calls.Count));
        GC.KeepAlive(target);
    }

    [Fact]
    public void Register_CallbackKeepsGoing_SentinelStaysRegistered_Control()
    {
        var target = new object();
        var calls = new Calls(stopAfter: int.MaxValue);
        var sentinel = RegisterNew(target, calls);

        GcAssert.NotCollected(sentinel, "the sentinel re-registers itself while its target lives and the callback returns true");
        Assert.True(calls.Called.Wait(Wait));
        GC.KeepAlive(target);
    }

    [Fact]
    public void Register_CallbackThrows_Stops()
    {
        var target = new object();
        var calls = new Calls(stopAfter: int.MaxValue, throws: true);
        var sentinel = RegisterNew(target, calls);

        GcAssert.FullCollect();
        Assert.True(calls.Called.Wait(Wait));
        GcAssert.Collected(sentinel, "a throwing callback stops the sentinel");
        Assert.Equal(1, Volatile.Read(ref calls.Count));
        GC.KeepAlive(target);
    }

    [Fact]
    public void Register_DoesNotKeepTheTargetAlive()
    {
        var calls = new Calls(stopAfter: int.MaxValue);
        var (target, sentinel) = RegisterWithNewTarget(calls);

        GcAssert.Collected(target, "the callback holds its target weakly");
        GcAssert.Collected(sentinel, "a sentinel whose target is gone frees its handle and is collected");
    }

    [Fact]
    public void AddSweep_AThrowingSweep_DoesNotStopTheNextNorLaterCalls()
    {
        var throwing = new Calls(stopAfter: int.MaxValue, throws: true);
        var next = new Calls(stopAfter: int.MaxValue);
        Gen2Callback.AddSweep(() => throwing.Invoke(throwing));
        Gen2Callback.AddSweep(() => next.Invoke(next));

        GcAssert.FullCollect();
        Assert.True(next.Called.Wait(Wait), "the sweep after a throwing one did not run");
        Assert.True(throwing.Called.Wait(Wait));
        GcAssert.FullCollect();
        Assert.True(throwing.Called.Wait(Wait), "a throwing sweep stopped the sentinel");
        Assert.True(next.Called.Wait(Wait));
        Assert.True(next.AllOnThreadPool, "a sweep ran on the finalizer thread");
    }

    [Fact]
    public void Library_RegistersOneSentinel_FeaturesAddSweeps()
    {
        // "One gen-2 callback for the whole library": features add sweeps; only Gen2Callback itself registers.
        var src = Path.Combine(Docs.DocSnippetTests.RepositoryRoot(), "src", "SafeRefs");
        var registering = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => File.ReadAllText(f).Contains("Gen2Callback.Register(", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(src, f))
            .ToArray();

        Assert.Empty(registering);
        Assert.Contains("_ = Register(SweepsTarget", File.ReadAllText(Path.Combine(src, "Internal", "Gen2Callback.cs")), StringComparison.Ordinal);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference RegisterNew(object target, Calls calls) =>
        new(Gen2Callback.Register(target, calls.Invoke), trackResurrection: true);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference Target, WeakReference Sentinel) RegisterWithNewTarget(Calls calls)
    {
        var target = new object();
        return (new WeakReference(target), RegisterNew(target, calls));
    }

    private sealed class Calls(int stopAfter, bool throws = false)
    {
#pragma warning disable IDE1006 // test-only counter, used by ref
        public int Count;
#pragma warning restore IDE1006

        public SemaphoreSlim Called { get; } = new(0);

        public bool AllOnThreadPool { get; private set; } = true;

        public bool Invoke(object target)
        {
            AllOnThreadPool &= Thread.CurrentThread.IsThreadPoolThread;
            var count = Interlocked.Increment(ref Count);
            Called.Release();
            if (throws)
            {
                throw new InvalidOperationException("callback failure");
            }

            return count < stopAfter;
        }
    }
}
