using System.Runtime.CompilerServices;
using SafeRefs.Diagnostics;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions.WeakLinks;

/// <summary>Scenarios that run in a child process (see <c>ChildProcess</c>): their failure mode is a crash.</summary>
internal static class WeakLinkCrashScenarios
{
    /// <summary>
    /// A weak subscription whose owner was collected, on a source whose <c>remove</c> throws (a disposed source), is
    /// detached by the purge that gen-2 collections queue on the thread pool. Prints "survived" and the logged event ids.
    /// </summary>
    public static int ThrowingRemoveDuringBackgroundPurge()
    {
        var logger = new ConsoleEventIdLogger();
        SafeRefsLog.Logger = logger;
        var source = new DisposedSource();
        SubscribeDroppedOwner(source);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!logger.Saw(1010) && DateTime.UtcNow < deadline)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
            Thread.Sleep(20);
        }

        // Give the thread pool a moment to let an escaped exception end the process, as it would have before.
        Thread.Sleep(200);
        Console.WriteLine($"remove calls {Volatile.Read(ref source.RemoveCalls)}");
        Console.WriteLine("survived");
        GC.KeepAlive(source);
        return 0;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SubscribeDroppedOwner(DisposedSource source) =>
        _ = Subscribe.WeakEvent<DisposedSource, object, int>(
            source, static (s, h) => s.Changed += h, static (s, h) => s.Remove(h), new object(), static (_, _, _) => { });

    private sealed class DisposedSource
    {
        public int RemoveCalls;

        public event EventHandler<int>? Changed;

        public void Remove(EventHandler<int> handler)
        {
            Interlocked.Increment(ref RemoveCalls);
            throw new ObjectDisposedException(nameof(DisposedSource));
        }

        public void Raise() => Changed?.Invoke(this, 1);
    }
}
