// OwnerHandlerEntry.CallHook, which every test here sets, exists only in Debug builds (it would cost the raise loop a
// static load per handler): these tests compile and run in the Debug run of the suite, which CI runs too.
#if DEBUG
using SafeRefs.Events;
using SafeRefs.Events.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

/// <summary>
/// "After <c>Dispose</c> returns, no invocation of the handler starts", end to end and deterministically, for the
/// <c>Subscribe</c> tokens of the three weak events. A raise on another thread is held by
/// <see cref="OwnerHandlerEntry.CallHook"/> after its check and its announced call, while this thread disposes: the
/// held invocation was under way before <c>Dispose</c> returned, so it must count as running (<c>DisposeAsync</c> waits
/// for it) and no later one may start; a raise held before reaching the entry must not start it after <c>Dispose</c>;
/// and a raise held between its check and the announced call is waited out by <c>Dispose</c>
/// (<see cref="RaiseSlots.WaitHook"/>), by a concurrent second <c>Dispose</c> too; a call that ends while
/// <c>DisposeAsync</c> publishes its wait (<see cref="RaiseSlots.BeforeWaitHook"/>) does not leave it waiting. The hooks are process-wide and filter on their entry; only this class sets them.
/// </summary>
public sealed class WeakEventNoStartAfterDisposeTests
{
    public static TheoryData<string> Kinds => ["WeakEvent", "WeakDelegateEvent", "AsyncWeakEvent"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task RaiseHeldBetweenCheckAndCall_DisposeReturnsAtOnce_InvocationCountsAsRunning(string kind)
    {
        var (source, owner, token, entry) = Subscribed(kind);
        using var atHook = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        HoldAfterAnnouncedCall(entry, atHook, release);
        try
        {
            var raising = OnOwnThread(source.Raise);
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
            ClearHooksAndRelease(release);
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
        HoldAfterAnnouncedCall(firstEntry, atHook, release);
        try
        {
            var raising = OnOwnThread(source.Raise);
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
            ClearHooksAndRelease(release);
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
        HoldAfterAnnouncedCall(entry, atHook, release);
        try
        {
            var raising = OnOwnThread(source.Raise);
            Assert.True(atHook.Wait(TimeSpan.FromSeconds(30)));
            Assert.Equal(1, entry.RunningCount);
            release.Set();
            await raising.Bounded();
            Assert.Equal(1, owner.Calls);
            Assert.Equal(0, owner.CallsAfterDispose);
        }
        finally
        {
            ClearHooksAndRelease(release);
        }

        GC.KeepAlive(owner);
    }

    // A raise held between its check of the entry and the announced call: Dispose waits for it (never returning while it
    // is held, so the invocation counts as running when it returns), then frees the handles; later raises skip it.
    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task RaiseHeldBetweenCheckAndAnnouncedCall_DisposeWaitsItOut(string kind)
    {
        var (source, owner, token, entry) = Subscribed(kind);
        using var atHook = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        using var releaseCall = new ManualResetEventSlim();
        var disposerWaits = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        OwnerHandlerEntry.CallHook = (e, inWindow) =>
        {
            if (ReferenceEquals(e, entry))
            {
                if (inWindow)
                {
                    atHook.Set();
                    release.WaitBounded();
                }
                else
                {
                    releaseCall.WaitBounded(); // held after the announced call, so that it is seen running
                }
            }
        };
        RaiseSlots.WaitHook = e =>
        {
            if (ReferenceEquals(e, entry))
            {
                disposerWaits.TrySetResult();
            }
        };
        try
        {
            var raising = OnOwnThread(source.Raise);
            Assert.True(atHook.Wait(TimeSpan.FromSeconds(30)));
            long runningAtDispose = -1;
            var disposing = OnOwnThread(() =>
            {
                token.Dispose();
                runningAtDispose = entry.RunningCount;
            });

            // Deterministic either way: a Dispose that waits reports it before it can return; one that does not returns.
            var first = await Task.WhenAny(disposerWaits.Task, disposing).Bounded();
            Assert.Same(disposerWaits.Task, first);
            Assert.False(disposing.IsCompleted, "Dispose returned while a raise was between its check and its call");
            release.Set();
            await disposing.Bounded();
            releaseCall.Set();
            await raising.Bounded();

            Assert.Equal(1, runningAtDispose); // announced before Dispose returned: a started invocation
            Assert.True(entry.IsFreed);
            Assert.Equal(1, owner.Calls);
            source.Raise();
            Assert.Equal(1, owner.Calls);
        }
        finally
        {
            ClearHooksAndRelease(release, releaseCall);
        }

        GC.KeepAlive(owner);
    }

    // Control twin: held after the announced call, the same Dispose does not wait (the hook never fires) and returns.
    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task RaiseHeldAfterAnnouncedCall_Control_DisposeDoesNotWait(string kind)
    {
        var (source, owner, token, entry) = Subscribed(kind);
        using var atHook = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var waited = 0;
        HoldAfterAnnouncedCall(entry, atHook, release);
        RaiseSlots.WaitHook = e =>
        {
            if (ReferenceEquals(e, entry))
            {
                Interlocked.Increment(ref waited);
            }
        };
        try
        {
            var raising = OnOwnThread(source.Raise);
            Assert.True(atHook.Wait(TimeSpan.FromSeconds(30)));
            token.Dispose();
            Assert.Equal(0, Volatile.Read(ref waited));
            Assert.True(entry.IsFreed);
            release.Set();
            await raising.Bounded();
            Assert.Equal(1, owner.Calls);
        }
        finally
        {
            ClearHooksAndRelease(release);
        }

        GC.KeepAlive(owner);
    }

    // A second Dispose concurrent with a first one that waits out a raise held between its check and the call: it must
    // not return before that raise calls (it waits the raise out as well), or the handler starts after it returned.
    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task RaiseHeldBetweenCheckAndCall_ConcurrentSecondDispose_WaitsItOutToo(string kind)
    {
        var (source, owner, token, entry) = Subscribed(kind);
        using var atHook = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var firstWaits = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondWaits = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var waits = 0;
        HoldBetweenCheckAndCall(entry, atHook, release, () => (Interlocked.Increment(ref waits) == 1 ? firstWaits : secondWaits).TrySetResult());
        try
        {
            var raising = OnOwnThread(source.Raise);
            atHook.WaitBounded();
            var first = OnOwnThread(token.Dispose);
            await firstWaits.Task.Bounded();

            // Deterministic either way: a second Dispose that waits reports it before it can return; one that does not returns.
            var second = OnOwnThread(token.Dispose);
            _ = await Task.WhenAny(secondWaits.Task, second).Bounded();
            var secondReturnedWhileHeld = second.IsCompleted;
            Volatile.Write(ref owner.DisposeReturned, secondReturnedWhileHeld ? 1 : 0);
            release.Set();
            await first.Bounded();
            await second.Bounded();
            await raising.Bounded();

            Assert.Equal(1, owner.Calls); // checked open before either Dispose returned: it may start
            Assert.Equal(0, owner.CallsAfterDispose);
            Assert.False(secondReturnedWhileHeld, "a concurrent second Dispose returned while a raise was between its check and its call");
            Assert.Equal(2, Volatile.Read(ref waits));
            Assert.True(entry.IsFreed);
            source.Raise();
            Assert.Equal(1, owner.Calls);
        }
        finally
        {
            ClearHooksAndRelease(release);
        }

        GC.KeepAlive(owner);
    }

    // Control twin: the same hold with the first Dispose waiting and no second one. The held raise starts the handler
    // once released, and the probe sees a start after the mark: the test above would see it after a second Dispose.
    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task RaiseHeldBetweenCheckAndCall_Control_WithoutSecondDispose_HeldRaiseStartsAfterTheMark(string kind)
    {
        var (source, owner, token, entry) = Subscribed(kind);
        using var atHook = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var firstWaits = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        HoldBetweenCheckAndCall(entry, atHook, release, () => firstWaits.TrySetResult());
        try
        {
            var raising = OnOwnThread(source.Raise);
            atHook.WaitBounded();
            var first = OnOwnThread(token.Dispose);
            await firstWaits.Task.Bounded();
            Volatile.Write(ref owner.DisposeReturned, 1); // where the test above marks a second Dispose that returned
            Assert.False(first.IsCompleted, "the first Dispose returned while a raise was between its check and its call");
            release.Set();
            await first.Bounded();
            await raising.Bounded();

            Assert.Equal(1, owner.Calls);
            Assert.Equal(1, owner.CallsAfterDispose);
        }
        finally
        {
            ClearHooksAndRelease(release);
        }

        GC.KeepAlive(owner);
    }

    // The raise's call ends (and its slot changes) between DisposeAsync's first look at the slot and the publish of
    // its wait, held there by RaiseSlots.BeforeWaitHook: nothing is left to wake that wait, so DisposeAsync completes
    // only because it reads the slot again after publishing.
    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task CallEndsBetweenTheWaitersReadAndItsPublish_DisposeAsyncCompletes(string kind)
    {
        var (source, owner, token, entry) = Subscribed(kind);
        using var atHook = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        Task? raising = null;
        var seamRuns = 0;
        HoldAfterAnnouncedCall(entry, atHook, release);
        RaiseSlots.BeforeWaitHook = e =>
        {
            if (ReferenceEquals(e, entry) && Interlocked.Increment(ref seamRuns) == 1)
            {
                release.Set();
                raising!.WaitBounded(); // the raise ends: its slot stops calling the entry, with no wait to wake yet
            }
        };
        try
        {
            raising = OnOwnThread(source.Raise);
            atHook.WaitBounded();
            token.Dispose();
            var idle = token.DisposeAsync().AsTask();

            Assert.Equal(1, Volatile.Read(ref seamRuns)); // it did find the call running: the waiting path
            Assert.True(raising.IsCompleted);
            await idle.Bounded();
            Assert.Equal(1, owner.Calls);
            Assert.Equal(0, entry.RunningCount);
        }
        finally
        {
            ClearHooksAndRelease(release);
        }

        GC.KeepAlive(owner);
    }

    // Control twin: the same hold and the seam without its action. DisposeAsync finds the call running and waits; it
    // completes once the raise is released, woken by the slot's change.
    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task CallEndsAfterTheWaitersPublish_Control_DisposeAsyncWaitsThenCompletes(string kind)
    {
        var (source, owner, token, entry) = Subscribed(kind);
        using var atHook = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var seamRuns = 0;
        HoldAfterAnnouncedCall(entry, atHook, release);
        RaiseSlots.BeforeWaitHook = e =>
        {
            if (ReferenceEquals(e, entry))
            {
                Interlocked.Increment(ref seamRuns);
            }
        };
        try
        {
            var raising = OnOwnThread(source.Raise);
            atHook.WaitBounded();
            token.Dispose();
            var idle = token.DisposeAsync().AsTask();

            Assert.Equal(1, Volatile.Read(ref seamRuns));
            Assert.False(idle.IsCompleted, "DisposeAsync must wait for the running call");
            release.Set();
            await raising.Bounded();
            await idle.Bounded();
            Assert.Equal(1, owner.Calls);
            Assert.Equal(0, entry.RunningCount);
        }
        finally
        {
            ClearHooksAndRelease(release);
        }

        GC.KeepAlive(owner);
    }

    // Holds a raise of the entry after its announced call (the invocation counts as running) until released.
    private static void HoldAfterAnnouncedCall(OwnerHandlerEntry entry, ManualResetEventSlim atHook, ManualResetEventSlim release) =>
        HoldAtCallHook(entry, inWindow: false, atHook, release);

    // Holds a raise of the entry between its check and the announced call until released; reports each disposer wait.
    private static void HoldBetweenCheckAndCall(OwnerHandlerEntry entry, ManualResetEventSlim atHook, ManualResetEventSlim release, Action disposerWaits)
    {
        HoldAtCallHook(entry, inWindow: true, atHook, release);
        RaiseSlots.WaitHook = e =>
        {
            if (ReferenceEquals(e, entry))
            {
                disposerWaits();
            }
        };
    }

    private static void HoldAtCallHook(OwnerHandlerEntry entry, bool inWindow, ManualResetEventSlim atHook, ManualResetEventSlim release) =>
        OwnerHandlerEntry.CallHook = (e, window) =>
        {
            if (window == inWindow && ReferenceEquals(e, entry))
            {
                atHook.Set();
                release.WaitBounded();
            }
        };

    // The probe subscribed to a new event of the kind, with its token and entry.
    private static (Source Source, Probe Owner, Subscription Token, OwnerHandlerEntry Entry) Subscribed(string kind)
    {
        var source = Source.Create(kind);
        var owner = new Probe();
        var token = source.Subscribe(owner);
        return (source, owner, token, ((WeakHandlerSubscription)token).Entry);
    }

    // Clears the hooks, also after a failed assertion, and lets a held raise go.
    private static void ClearHooksAndRelease(params ManualResetEventSlim[] releases)
    {
        OwnerHandlerEntry.CallHook = null;
        RaiseSlots.WaitHook = null;
        RaiseSlots.BeforeWaitHook = null;
        foreach (var release in releases)
        {
            release.Set();
        }
    }

    // A raise or a Dispose on a thread of its own, so that a hook may hold it while this thread goes on.
    private static Task OnOwnThread(Action action) =>
        Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

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
#endif
