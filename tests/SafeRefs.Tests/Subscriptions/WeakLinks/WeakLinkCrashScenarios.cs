using System.Runtime.CompilerServices;
using SafeRefs.Diagnostics;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Subscriptions.WeakLinks;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions.WeakLinks;

/// <summary>Scenarios that run in a child process (see <c>ChildProcess</c>): their failure mode is a crash.</summary>
internal static class WeakLinkCrashScenarios
{
    /// <summary>
    /// A weak subscription whose owner was collected, on a source whose <c>remove</c> throws (a disposed source), is
    /// detached by a purge of the weak-link registry on the thread pool, inside a gen-2 purge work item (through its
    /// test seam). The child goes on once that purge has returned: an exception escaping it would end the process from
    /// the pool thread, or leave it unreturned (exit code 3). Prints "survived" and the logged event ids.
    /// </summary>
    public static int ThrowingRemoveDuringBackgroundPurge()
    {
        var bound = TimeSpan.FromSeconds(30);
        var logger = new ConsoleEventIdLogger();
        SafeRefsLog.Logger = logger;
        var source = new DisposedSource();
        SubscribeDroppedOwner(source);
        using var purged = new SemaphoreSlim(0);
        using var removed = new ManualResetEventSlim();
        PurgeRegistry.Gen2PurgeHook = () =>
        {
            _ = WeakLink.Registry.Purge(onOwnThread: false); // the purge the work item runs next, run here to its end
            if (Volatile.Read(ref source.RemoveCalls) != 0)
            {
                removed.Set(); // the throwing remove ran, in this purge (or in one before it on the pool)
            }

            purged.Release();
        };

        for (var collections = 0; !removed.IsSet && collections < 100; collections++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers(); // the gen-2 callback queues one purge work item per collection
            if (!purged.Wait(bound))
            {
                Console.WriteLine("a purge did not return");
                return 3;
            }
        }

        Console.WriteLine($"remove calls {Volatile.Read(ref source.RemoveCalls)}");
        Console.WriteLine("survived");
        GC.KeepAlive(source);
        return 0;
    }

    /// <summary>
    /// The same dead link, detached by the purge that runs on the subscribing thread during later weak subscriptions.
    /// The source is thread-affine and there is no synchronization context, so the thread-pool purge leaves the link to
    /// this thread. Every later <c>Subscribe.WeakEvent</c> must return its token; an exception escaping into one of them
    /// ends the child.
    /// </summary>
    public static int ThrowingRemoveDuringSubscribingThreadPurge()
    {
        var logger = new ConsoleEventIdLogger();
        SafeRefsLog.Logger = logger;
        var source = new DisposedSource { IsThreadAffine = true };
        var (link, owner) = SubscribeTrackedOwner(source);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (IsAlive(owner) && DateTime.UtcNow < deadline)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
        }

        Console.WriteLine($"owner collected {!IsAlive(owner)}");
        var other = new DisposedSource { FailRemove = false };
        var otherOwner = new object();
        var subscribes = 0;
        var limit = (Math.Max(256, WeakLink.Registry.Count) * 2) + 10;
        while (!link.IsDetached && subscribes < limit)
        {
            Subscribe.WeakEvent<DisposedSource, object, int>(
                other, static (s, h) => s.Changed += h, static (s, h) => s.Remove(h), otherOwner, static (_, _, _) => { }).Dispose();
            subscribes++;
        }

        Console.WriteLine($"detached {link.IsDetached}");
        Console.WriteLine($"freed {link.IsFreed}");
        Console.WriteLine($"registry index {link.RegistryIndex}");
        Console.WriteLine($"remove calls {Volatile.Read(ref source.RemoveCalls)}");
        Console.WriteLine($"remove on the subscribing thread {source.RemoveThread == Environment.CurrentManagedThreadId}");
        Console.WriteLine("survived");
        GC.KeepAlive(source);
        GC.KeepAlive(otherOwner);
        return 0;
    }

    /// <summary>
    /// An explicit <c>Dispose</c> whose <c>remove</c> throws: the caller gets the exception, the link is detached and
    /// gone from the registry all the same, and nothing else fails.
    /// </summary>
    public static int ThrowingRemoveDuringDispose()
    {
        var logger = new ConsoleEventIdLogger();
        SafeRefsLog.Logger = logger;
        var source = new DisposedSource();
        var owner = new Counter();
        var token = Subscribe.WeakEvent<DisposedSource, Counter, int>(
            source, static (s, h) => s.Changed += h, static (s, h) => s.Remove(h), owner, static (o, _, _) => o.Calls++);
        try
        {
            token.Dispose();
            Console.WriteLine("dispose returned");
        }
        catch (ObjectDisposedException)
        {
            Console.WriteLine("dispose threw ObjectDisposedException");
        }

        var link = (WeakLink)token;
        Console.WriteLine($"detached {link.IsDetached}");
        Console.WriteLine($"freed {link.IsFreed}");
        Console.WriteLine($"registry index {link.RegistryIndex}");
        token.Dispose();
        Console.WriteLine("second dispose returned");
        source.Raise(); // the source still holds the forwarder (its remove failed): it must not call the handler
        Console.WriteLine($"handler calls {owner.Calls}");
        Console.WriteLine("survived");
        GC.KeepAlive(owner);
        return 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SubscribeDroppedOwner(DisposedSource source) =>
        _ = Subscribe.WeakEvent<DisposedSource, object, int>(
            source, static (s, h) => s.Changed += h, static (s, h) => s.Remove(h), new object(), static (_, _, _) => { });

    /// <summary>Subscribes an owner that only a weak reference escapes; returns the link (its token) and that reference.</summary>
    // Out of line: in Debug, the discarded target of an inline TryGetTarget stays in a hidden local of the caller and
    // keeps the owner alive for the rest of the method.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool IsAlive(WeakReference<object> reference) => reference.TryGetTarget(out _);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakLink Link, WeakReference<object> Owner) SubscribeTrackedOwner(DisposedSource source)
    {
        var owner = new object();
        var token = Subscribe.WeakEvent<DisposedSource, object, int>(
            source, static (s, h) => s.Changed += h, static (s, h) => s.Remove(h), owner, static (_, _, _) => { });
        return ((WeakLink)token, new WeakReference<object>(owner));
    }

    private sealed class Counter
    {
        public int Calls;
    }

    private sealed class DisposedSource : IEventSourceAffinity
    {
        public int RemoveCalls;
        public int RemoveThread;

        public event EventHandler<int>? Changed;

        public bool FailRemove { get; init; } = true;

        public bool IsThreadAffine { get; init; }

        public void Remove(EventHandler<int> handler)
        {
            Interlocked.Increment(ref RemoveCalls);
            RemoveThread = Environment.CurrentManagedThreadId;
            ObjectDisposedException.ThrowIf(FailRemove, this);
            Changed -= handler;
        }

        public void Raise() => Changed?.Invoke(this, 1);
    }
}
