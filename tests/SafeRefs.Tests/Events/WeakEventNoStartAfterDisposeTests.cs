using SafeRefs.Events;
using SafeRefs.Events.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

/// <summary>
/// "After <c>Dispose</c> returns, no invocation of the handler starts", end to end and deterministically, for the
/// <c>Subscribe</c> tokens of the three weak events. A raise on another thread is held by
/// <see cref="WeakHandlerEntry.BeforeCallHook"/> between its gate check and its call, while this thread disposes: the
/// held invocation was admitted before <c>Dispose</c> returned, so it must count as running (<c>DisposeAsync</c> waits
/// for it) and no later one may start; and a raise held before reaching the entry must not start it after
/// <c>Dispose</c>. The hook is process-wide and filters on its entry; only this class sets it.
/// </summary>
public sealed class WeakEventNoStartAfterDisposeTests
{
    public static TheoryData<string> Kinds => ["WeakEvent", "WeakDelegateEvent", "AsyncWeakEvent"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task RaiseHeldBetweenCheckAndCall_DisposeReturnsAtOnce_InvocationCountsAsRunning(string kind)
    {
        var source = Source.Create(kind);
        var owner = new Probe();
        var token = source.Subscribe(owner);
        var entry = ((WeakHandlerSubscription)token).Entry;
        using var atHook = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        WeakHandlerEntry.BeforeCallHook = e =>
        {
            if (ReferenceEquals(e, entry))
            {
                atHook.Set();
                release.WaitBounded();
            }
        };
        try
        {
            var raising = Task.Factory.StartNew(source.Raise, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            Assert.True(atHook.Wait(TimeSpan.FromSeconds(30)));

            token.Dispose(); // never waits for the held raise: returning here proves it
            var runningAtDispose = entry.RunningCount;
            Volatile.Write(ref owner.DisposeReturned, 1);
            var idle = token.DisposeAsync().AsTask();

            Assert.Equal(1, runningAtDispose); // admitted before Dispose returned: a started invocation
            Assert.False(idle.IsCompleted, "DisposeAsync must wait for the admitted invocation");
            release.Set();
            await raising.Bounded();
            await idle.Bounded();

            Assert.Equal(1, owner.Calls);
            Assert.Equal(1, owner.CallsAfterDispose); // the admitted one, excused by runningAtDispose
            source.Raise();
            Assert.Equal(1, owner.Calls);
            Assert.Equal(0, entry.RunningCount);
        }
        finally
        {
            WeakHandlerEntry.BeforeCallHook = null;
            release.Set();
        }

        GC.KeepAlive(owner);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task RaiseHeldBeforeTheEntry_DisposeReturns_HandlerNeverStarts(string kind)
    {
        var source = Source.Create(kind);
        var blocker = new Probe();
        var owner = new Probe();
        var first = source.Subscribe(blocker);
        var token = source.Subscribe(owner);
        var firstEntry = ((WeakHandlerSubscription)first).Entry;
        using var atHook = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        WeakHandlerEntry.BeforeCallHook = e =>
        {
            if (ReferenceEquals(e, firstEntry))
            {
                atHook.Set();
                release.WaitBounded();
            }
        };
        try
        {
            var raising = Task.Factory.StartNew(source.Raise, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            Assert.True(atHook.Wait(TimeSpan.FromSeconds(30)));

            token.Dispose();
            var runningAtDispose = (((WeakHandlerSubscription)token).Entry).RunningCount;
            release.Set();
            await raising.Bounded();

            Assert.Equal(0, runningAtDispose);
            Assert.Equal(1, blocker.Calls);
            Assert.Equal(0, owner.Calls);
        }
        finally
        {
            WeakHandlerEntry.BeforeCallHook = null;
            release.Set();
            first.Dispose();
        }

        GC.KeepAlive(blocker);
        GC.KeepAlive(owner);
    }

    // Control twin: the same held raise with no Dispose calls the handler, and a hook that holds nothing changes nothing.
    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task RaiseHeldBetweenCheckAndCall_Control_WithoutDispose_HandlerRuns(string kind)
    {
        var source = Source.Create(kind);
        var owner = new Probe();
        using var token = source.Subscribe(owner);
        var entry = ((WeakHandlerSubscription)token).Entry;
        using var atHook = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        WeakHandlerEntry.BeforeCallHook = e =>
        {
            if (ReferenceEquals(e, entry))
            {
                atHook.Set();
                release.WaitBounded();
            }
        };
        try
        {
            var raising = Task.Factory.StartNew(source.Raise, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            Assert.True(atHook.Wait(TimeSpan.FromSeconds(30)));
            Assert.Equal(1, entry.RunningCount);
            release.Set();
            await raising.Bounded();
            Assert.Equal(1, owner.Calls);
            Assert.Equal(0, owner.CallsAfterDispose);
        }
        finally
        {
            WeakHandlerEntry.BeforeCallHook = null;
            release.Set();
        }

        GC.KeepAlive(owner);
    }

    private sealed class Probe
    {
        public int DisposeReturned;

        public int Calls { get; private set; }

        public int CallsAfterDispose { get; private set; }

        public void On()
        {
            Calls++;
            if (Volatile.Read(ref DisposeReturned) != 0)
            {
                CallsAfterDispose++;
            }
        }
    }

    /// <summary>One of the three weak events, raised and subscribed to the same way.</summary>
    private abstract class Source
    {
        public static Source Create(string kind) => kind switch
        {
            "WeakEvent" => new OfWeakEvent(),
            "WeakDelegateEvent" => new OfWeakDelegateEvent(),
            _ => new OfAsyncWeakEvent(),
        };

        public abstract Subscription Subscribe(Probe owner);

        public abstract void Raise();

        private sealed class OfWeakEvent : Source
        {
            private readonly WeakEvent<int> _event = new();

            public override Subscription Subscribe(Probe owner) => _event.Subscribe(owner, static (o, _, _) => o.On());

            public override void Raise() => _event.Raise(null, 1);
        }

        private sealed class OfWeakDelegateEvent : Source
        {
            private readonly WeakDelegateEvent<Action> _event = new();

            public override Subscription Subscribe(Probe owner) => _event.Subscribe(owner, owner.On);

            public override void Raise() => _event.Raise(0, static (h, _) => h());
        }

        private sealed class OfAsyncWeakEvent : Source
        {
            private readonly AsyncWeakEvent<int> _event = new();

            public override Subscription Subscribe(Probe owner) => _event.Subscribe(owner, static (o, _, _, _) =>
            {
                o.On();
                return ValueTask.CompletedTask;
            });

            public override void Raise() => _event.RaiseAsync(null, 1).Bounded().GetAwaiter().GetResult();
        }
    }
}
