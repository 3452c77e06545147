using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Diagnostics;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

/// <summary>Collectability of owners, callbacks and scopes, under the fake clock and the real one.</summary>
[Collection(GcCollection.Name)]
public sealed class TimerScopeCollectionTests
{
    private const int Owners = 8;
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public void CreateChild_DroppedUndisposed_IsCollectedAndItsTimersRetire()
    {
        var clock = new FakeTimeProvider();
        using var parent = new TimerScope(clock);
        var child = CreateChildWithTimer(parent, keep: null, out var ticks);

        GcAssert.Collected(child, "the parent holds its children only weakly");
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(0, ticks.Value);
        parent.Dispose();
    }

    [Fact]
    public void CreateChild_StillReferenced_StaysAliveAndIsDisposedWithTheParent()
    {
        var clock = new FakeTimeProvider();
        var parent = new TimerScope(clock);
        var keep = new List<TimerScope>();
        var child = CreateChildWithTimer(parent, keep, out var ticks);

        GcAssert.NotCollected(child, "the test holds the child");
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, ticks.Value);
        parent.Dispose();
        Assert.True(keep[0].IsDisposed);
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, ticks.Value);
        GC.KeepAlive(keep);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CreateChild_DroppedWhileItsAsyncBodyRuns_TheParentsDisposeAsyncStopsAndWaitsForIt(bool loop)
    {
        var clock = new FakeTimeProvider();
        var parent = new TimerScope(clock);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var child = StartChildBody(parent, clock, loop, release.Task, cancelled);

        GcAssert.NotCollected(child, "a running body keeps its scope alive");
        var disposing = parent.DisposeAsync().AsTask();
        Assert.True(cancelled.Task.IsCompleted, "the parent's disposal cancelled the dropped child's running body");
        Assert.False(disposing.IsCompleted, "the parent's DisposeAsync completed while the dropped child's body still ran");
        release.SetResult();
        disposing.WaitBounded();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CreateChild_DroppedAndItsAsyncBodyReturned_IsCollected(bool loop)
    {
        var clock = new FakeTimeProvider();
        using var parent = new TimerScope(clock);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var child = StartChildBody(parent, clock, loop, release.Task, new TaskCompletionSource());

        release.SetResult();
        // The body's end runs on a thread-pool thread: poll (bounded) until it has let go of the scope.
        CollectedWithin(child, "a body roots its scope only while it runs");
        GC.KeepAlive(parent);
    }

    // Starts a periodic asynchronous timer callback or a loop body in a new child scope and runs it up to its await of
    // release; only a weak reference to the child leaves.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference StartChildBody(TimerScope parent, FakeTimeProvider clock, bool loop, Task release, TaskCompletionSource cancelled)
    {
        var child = parent.CreateChild();
        Func<CancellationToken, ValueTask> body = async ct =>
        {
            using (ct.Register(() => cancelled.TrySetResult()))
            {
                await release.ConfigureAwait(false);
            }
        };
        if (loop)
        {
            child.Loop(TimeSpan.FromSeconds(1), body);
        }
        else
        {
            child.Every(TimeSpan.FromSeconds(1), body);
        }

        clock.Advance(TimeSpan.FromSeconds(1));
        return new WeakReference(child);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference CreateChildWithTimer(TimerScope parent, List<TimerScope>? keep, out StrongBox<int> ticks)
    {
        var child = parent.CreateChild();
        keep?.Add(child);
        var box = new StrongBox<int>();
        ticks = box;
        child.Every(TimeSpan.FromSeconds(1), () => box.Value++);
        return new WeakReference(child);
    }

    [Fact]
    public void DroppedScope_TheClocksTimerDisposeThrowsAsItsTimerRetires_LoggedAsTheClocks()
    {
        var clock = new HookedTimeProvider(new FakeTimeProvider());
        var scope = DropScopeWithTimer(clock);
        GcAssert.Collected(scope, "its timer refers to it weakly");
        var logger = new FakeLogger();
        var previous = SafeRefsLog.Logger;
        SafeRefsLog.Logger = logger; // a collected scope's failures go to the process-wide logger
        try
        {
            clock.DisposeFailure = new InvalidOperationException("ITimer.Dispose of a retiring timer");
            clock.Inner.Advance(TimeSpan.FromSeconds(1));
        }
        finally
        {
            clock.DisposeFailure = null;
            SafeRefsLog.Logger = previous;
        }

        var record = Assert.Single(logger.Collector.GetSnapshot(), r => r.Exception?.Message == "ITimer.Dispose of a retiring timer");
        Assert.Equal(1204, record.Id.Id);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference DropScopeWithTimer(TimeProvider clock)
    {
        var scope = new TimerScope(clock);
        scope.Every(TimeSpan.FromSeconds(1), static () => { });
        return new WeakReference(scope);
    }

    [Fact]
    public void Lifetime_ScopeDroppedUndisposed_ItsRegistrationLeavesTheLongLivedToken()
    {
        using var lifetime = new CancellationTokenSource();
        var registrationState = DropScopeWithLifetime(keep: null, lifetime.Token);

        GcAssert.Collected(registrationState, "the dropped scope's registration was taken off the token");
        GC.KeepAlive(lifetime);
    }

    [Fact]
    public void Lifetime_ScopeStillReferenced_ItsRegistrationStays()
    {
        using var lifetime = new CancellationTokenSource();
        var keep = new List<TimerScope>();
        var registrationState = DropScopeWithLifetime(keep, lifetime.Token);

        GcAssert.NotCollected(registrationState, "the scope is alive, so its lifetime registration stays");
        lifetime.Cancel();
        Assert.True(keep[0].IsDisposed);
        GC.KeepAlive(keep);
    }

    // The registration's state is the scope's weak self-reference: it stays reachable from the token's source as long
    // as the registration does.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference DropScopeWithLifetime(List<TimerScope>? keep, CancellationToken lifetime)
    {
        var scope = new TimerScope(new FakeTimeProvider(), lifetime);
        keep?.Add(scope);
        return new WeakReference(scope.SelfReference);
    }

    [Fact]
    public void Every_DroppedOwners_FakeClock_CollectedAndTimersRetire()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var tracker = new LeakTracker();
        StartEveryOwners(scope, tracker, Owners);
        clock.Advance(10 * Ms);
        Assert.Equal(Owners, scope.ActiveCount);

        tracker.AssertAllCollected();
        clock.Advance(10 * Ms);
        Assert.Equal(0, scope.ActiveCount);
    }

    [Fact]
    public void Every_KeptOwner_FakeClock_KeepsTicking()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var owner = new TickOwner();
        var weak = StartEveryOwner(scope, owner);
        GcAssert.NotCollected(weak);
        clock.Advance(30 * Ms);
        Assert.Equal(3, owner.Ticks);
        Assert.Equal(1, scope.ActiveCount);
        GC.KeepAlive(owner);
    }

    [Fact]
    public void Every_DroppedOwners_SystemClock_CollectedAndTimersRetire()
    {
        using var scope = new TimerScope(TimeProvider.System);
        var tracker = new LeakTracker();
        StartEveryOwners(scope, tracker, Owners);
        Assert.Equal(Owners, scope.ActiveCount);

        AllCollectedWithin(tracker);
        Assert.True(SpinWait.SpinUntil(() => scope.ActiveCount == 0, Wait), "timers did not retire after their owners were collected");
    }

    [Fact]
    public async Task Every_KeptOwner_SystemClock_KeepsTicking()
    {
        using var scope = new TimerScope(TimeProvider.System);
        var owner = new TickOwner();
        var weak = StartEveryOwner(scope, owner, Ms);
        GcAssert.NotCollected(weak);
        var target = owner.Ticks + 3;
        await owner.WaitForTicksAsync(target).WaitAsync(Wait);
        Assert.Equal(1, scope.ActiveCount);
        GC.KeepAlive(owner);
    }

    [Fact]
    public void After_DroppedOwner_FakeClock_CollectedAndTimerRetiresWithoutCallback()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var calls = new StrongBox<int>();
        var weak = StartAfterOwner(scope, calls);
        GcAssert.Collected(weak);
        clock.Advance(10 * Ms);
        Assert.Equal(0, calls.Value);
        Assert.Equal(0, scope.ActiveCount);
    }

    [Fact]
    public void Loop_DroppedOwners_FakeClock_CollectedAndLoopsEnd()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var tracker = new LeakTracker();
        var loops = StartLoopOwners(scope, tracker, Owners);
        clock.Advance(10 * Ms);
        clock.Advance(10 * Ms);
        Assert.Equal(Owners, scope.ActiveCount);

        tracker.AssertAllCollected();
        clock.Advance(10 * Ms);
        Assert.Equal(0, scope.ActiveCount);
        Assert.All(loops, l => Assert.True(l.Completion.IsCompleted));
    }

    [Fact]
    public void Loop_KeptOwner_FakeClock_KeepsRunning()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var owner = new TickOwner();
        var weak = StartLoopOwner(scope, owner, 10 * Ms);
        GcAssert.NotCollected(weak);
        for (var i = 0; i < 3; i++)
        {
            clock.Advance(10 * Ms);
        }

        Assert.Equal(3, owner.Ticks);
        Assert.Equal(1, scope.ActiveCount);
        GC.KeepAlive(owner);
    }

    [Fact]
    public async Task Loop_DroppedOwners_SystemClock_CollectedAndLoopsEnd()
    {
        using var scope = new TimerScope(TimeProvider.System);
        var tracker = new LeakTracker();
        var loops = StartLoopOwners(scope, tracker, Owners);

        AllCollectedWithin(tracker);
        await Task.WhenAll(loops.Select(l => l.Completion)).WaitAsync(Wait);
        Assert.Equal(0, scope.ActiveCount);
    }

    [Fact]
    public async Task Loop_KeptOwner_SystemClock_KeepsRunning()
    {
        using var scope = new TimerScope(TimeProvider.System);
        var owner = new TickOwner();
        var weak = StartLoopOwner(scope, owner, Ms);
        GcAssert.NotCollected(weak);
        await owner.WaitForTicksAsync(owner.Ticks + 3).WaitAsync(Wait);
        Assert.Equal(1, scope.ActiveCount);
        GC.KeepAlive(owner);
    }

    [Fact]
    public void DroppedScope_SystemClock_ScopeCollectedTimersStopOwnersAndCapturesCollected()
    {
        var before = TimerScope.RetiredWithCollectedScope;
        var refs = StartDroppedScope(TimeProvider.System);

        // On the real clock the timers tick on thread-pool threads: a tick in progress holds the scope (or the owner)
        // on its stack for a moment, and a retiring timer's queued ticks hold it until they run, which under heavy
        // load can take longer than GcAssert's bounded rounds. So each object gets the same full collections,
        // repeated until it is gone or the (generous) deadline passes: the claims are unchanged, only the timing is
        // not assumed.
        CollectedWithin(refs.Scope, "nothing roots an undisposed scope: its timers refer to it weakly");
        Assert.True(
            SpinWait.SpinUntil(() => TimerScope.RetiredWithCollectedScope - before >= 3, Wait),
            "the timers and the loop of a collected scope did not retire");
        CollectedWithin(refs.Owner, "owners are held weakly");
        CollectedWithin(refs.Capture, "a retired timer leaves the timer queue, and with it its callback");
        CollectedWithin(refs.Timer, "a retired timer is no longer rooted by the timer queue");
    }

    [Fact]
    public void DroppedScope_PausedOwnerTimer_OwnerCollected()
    {
        var owner = StartPausedOwnerTimerOnFreshThread(keep: null);
        GcAssert.Collected(owner, "a paused timer never ticks, and holds its owner only weakly");
    }

    [Fact]
    public void KeptScope_PausedOwnerTimer_KeptOwnerStaysAlive_Control()
    {
        var keep = new List<object>();
        var owner = StartPausedOwnerTimerOnFreshThread(keep);
        GcAssert.NotCollected(owner, "the owner is kept by the test");
        GC.KeepAlive(keep);
    }

    [Fact]
    public void Every_DroppedOwner_FakeClock_RetiresAtTheNextTick()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var owner = StartEveryOwnerOnFreshThread(scope);
        clock.Advance(10 * Ms);
        Assert.Equal(1, scope.ActiveCount);

        GcAssert.Collected(owner);
        clock.Advance(10 * Ms);
        Assert.Equal(0, scope.ActiveCount);
    }

    [Fact]
    public void Every_KeptOwner_FakeClock_KeepsTicking_Control()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var keep = new TickOwner();
        StartEveryOwnerOnFreshThread(scope, keep);
        GcAssert.FullCollect();
        clock.Advance(20 * Ms);
        Assert.Equal(2, keep.Ticks);
        Assert.Equal(1, scope.ActiveCount);
        GC.KeepAlive(keep);
    }

    [Fact]
    public async Task KeptScope_SystemClock_KeepsFiring()
    {
        var probe = new TickOwner();
        var scope = KeepScope(TimeProvider.System, probe);
        var weak = new WeakReference(scope);
        GcAssert.NotCollected(weak);
        await probe.WaitForTicksAsync(probe.Ticks + 3).WaitAsync(Wait);
        GC.KeepAlive(scope);
        scope.Dispose();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Delay_ScopeDroppedUndisposedAndCollected_EndsCancelledAtItsDueTime(bool longLivedToken)
    {
        var clock = new FakeTimeProvider();
        using var token = new CancellationTokenSource();
        var (delay, scope) = StartDelay(clock, keep: null, longLivedToken ? token.Token : default);

        GcAssert.Collected(scope, "a pending delay refers to its scope only weakly");
        clock.Advance(TimeSpan.FromSeconds(10));

        Assert.True(delay.IsCanceled, $"the delay is {delay.Status}: it outlived its scope");
        GC.KeepAlive(token);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Delay_ScopeStillReferenced_CompletesAtItsDueTime_Control(bool longLivedToken)
    {
        var clock = new FakeTimeProvider();
        using var token = new CancellationTokenSource();
        var keep = new List<TimerScope>();
        var (delay, scope) = StartDelay(clock, keep, longLivedToken ? token.Token : default);

        GcAssert.NotCollected(scope, "the test holds the scope");
        clock.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(TaskStatus.RanToCompletion, delay.Status);
        GC.KeepAlive(keep);
        GC.KeepAlive(token);
    }

    // An infinite delay has no due time at which to learn that its scope was collected: only its token ends it.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DelayInfinite_ScopeDroppedUndisposedAndCollected_EndsOnlyWithItsToken(bool withToken)
    {
        var clock = new FakeTimeProvider();
        using var token = new CancellationTokenSource();
        var (delay, scope) = StartDelay(clock, keep: null, withToken ? token.Token : default, Timeout.InfiniteTimeSpan);

        GcAssert.Collected(scope, "a pending delay refers to its scope only weakly");
        clock.Advance(TimeSpan.FromDays(1));
        Assert.False(delay.IsCompleted, $"the delay is {delay.Status}");

        token.Cancel();
        if (withToken)
        {
            var canceled = Assert.Throws<TaskCanceledException>(() => delay.GetAwaiter().GetResult());
            Assert.Equal(token.Token, canceled.CancellationToken);
        }
        else
        {
            Assert.False(delay.IsCompleted, $"the delay is {delay.Status}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DelayInfinite_ScopeStillReferenced_EndsCancelledWhenTheScopeIsDisposed_Control(bool withToken)
    {
        var clock = new FakeTimeProvider();
        using var token = new CancellationTokenSource();
        var keep = new List<TimerScope>();
        var (delay, scope) = StartDelay(clock, keep, withToken ? token.Token : default, Timeout.InfiniteTimeSpan);

        GcAssert.NotCollected(scope, "the test holds the scope");
        clock.Advance(TimeSpan.FromDays(1));
        Assert.False(delay.IsCompleted, $"the delay is {delay.Status}");

        keep[0].Dispose();
        Assert.True(delay.IsCanceled, $"the delay is {delay.Status}");
        GC.KeepAlive(token);
    }

    [Fact]
    public void DroppedScope_FakeClock_ScopeCollectedAndTimersRetire()
    {
        var clock = new FakeTimeProvider();
        var before = TimerScope.RetiredWithCollectedScope;
        var refs = StartDroppedScope(clock);
        GcAssert.Collected(refs.Scope);
        clock.Advance(10 * Ms);
        Assert.True(TimerScope.RetiredWithCollectedScope - before >= 3);
        GcAssert.Collected(refs.Owner);
        GcAssert.Collected(refs.Capture);
    }

    [Fact]
    public void Timer_DoesNotKeepCallerAsyncLocalAlive()
    {
        using var scope = new TimerScope(TimeProvider.System);
        var weak = CreateTimerUnderAsyncLocal(scope, raw: false, out _);
        GcAssert.Collected(weak, "the scope suppresses ExecutionContext flow when it creates timers");
        Assert.Equal(1, scope.ActiveCount);
    }

    [Fact]
    public void RawSystemTimer_KeepsCallerAsyncLocalAlive_Control()
    {
        using var scope = new TimerScope(TimeProvider.System);
        var weak = CreateTimerUnderAsyncLocal(scope, raw: true, out var raw);
        GcAssert.NotCollected(weak, "TimeProvider.System.CreateTimer captures the ExecutionContext");
        raw!.Dispose();
    }

    [Fact]
    public void DisposedTimer_LiveScope_ReleasesCallbackCaptures()
    {
        using var scope = new TimerScope(TimeProvider.System);
        var weak = StartCapturingTimer(scope, dispose: true);
        GcAssert.Collected(weak, "a disposed timer drops its callback even while its scope keeps the slot");
        Assert.Equal(0, scope.ActiveCount);
    }

    [Fact]
    public void ActiveTimer_LiveScope_KeepsCallbackCaptures_Control()
    {
        using var scope = new TimerScope(TimeProvider.System);
        var weak = StartCapturingTimer(scope, dispose: false);
        GcAssert.NotCollected(weak, "the scope owns its active timers and their callbacks");
        Assert.Equal(1, scope.ActiveCount);
        GC.KeepAlive(scope);
    }

    [Fact]
    public void DisposedLoop_StillReferenced_ReleasesItsBodysCaptures()
    {
        using var scope = new TimerScope(new FakeTimeProvider());
        var keep = new List<ScopedLoop>();
        var weak = StartCapturingLoop(scope, keep, dispose: true);
        GcAssert.Collected(weak, "an ended loop lets go of its body, also while someone keeps the loop");
        Assert.True(keep[0].Completion.IsCompleted);
        GC.KeepAlive(keep);
    }

    [Fact]
    public void ActiveLoop_StillReferenced_KeepsItsBodysCaptures_Control()
    {
        using var scope = new TimerScope(new FakeTimeProvider());
        var keep = new List<ScopedLoop>();
        var weak = StartCapturingLoop(scope, keep, dispose: false);
        GcAssert.NotCollected(weak, "an active loop holds its body");
        GC.KeepAlive(keep);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference StartCapturingLoop(TimerScope scope, List<ScopedLoop> keep, bool dispose)
    {
        var capture = new TickOwner();
        var loop = scope.Loop(TimeSpan.FromHours(1), _ =>
        {
            capture.Tick();
            return default;
        });
        keep.Add(loop);
        if (dispose)
        {
            loop.Dispose();
        }

        return new WeakReference(capture);
    }

    // A disposed bag that is kept holds its disposed child scope only while a callback of it runs: the child would
    // keep its parent, dropped undisposed, and the parent's timers would never retire.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DisposedBagKept_ItsDisposedChildScope_LetsItsDroppedParentGo(bool running)
    {
        var clock = new FakeTimeProvider();
        var bag = new SubscriptionBag();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var parent = DropParentWithChildInBag(bag, clock, running ? release.Task : null);
        bag.Dispose();
        release.SetResult();
        // The callback's end runs on a thread-pool thread: poll (bounded) until the bag has let go of the child.
        CollectedWithin(parent, "a disposed bag lets go of its disposed child scope once no callback of it runs");
        GC.KeepAlive(bag);
    }

    [Fact]
    public void ActiveBag_ItsChildScope_KeepsItsDroppedParent_Control()
    {
        var bag = new SubscriptionBag();
        var parent = DropParentWithChildInBag(bag, new FakeTimeProvider(), runUntil: null);
        GcAssert.NotCollected(parent, "a child scope in an undisposed bag holds its parent");
        GC.KeepAlive(bag);
    }

    // A parent scope with a timer, dropped undisposed; its child scope is in the bag, with an asynchronous callback
    // running until runUntil completes, if given.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference DropParentWithChildInBag(SubscriptionBag bag, FakeTimeProvider clock, Task? runUntil)
    {
        var parent = new TimerScope(clock);
        parent.Every(TimeSpan.FromHours(1), static () => { });
        var child = parent.CreateChild();
        if (runUntil is not null)
        {
            child.After(TimeSpan.FromSeconds(1), async _ => await runUntil.ConfigureAwait(false));
            clock.Advance(TimeSpan.FromSeconds(1));
        }

        bag.Add(child);
        return new WeakReference(parent);
    }

    // Under the fake and system clocks an armed timer's state roots the timer, so only a clock that holds timer state
    // weakly shows that the scope is what keeps an ownerless timer alive.
    [Fact]
    public void Every_Ownerless_OnlyTheScopeHoldsIt_KeepsTickingThroughCollections()
    {
        var clock = new WeakStateTimeProvider(new FakeTimeProvider());
        var keep = new List<TimerScope>();
        var ticks = new StrongBox<int>();
        var timer = StartOwnerlessTimer(clock, keep, ticks);

        GcAssert.NotCollected(timer, "the scope holds an ownerless timer until it ends");
        clock.Inner.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(2, ticks.Value);
        Assert.Equal(1, keep[0].ActiveCount);
        keep[0].Dispose();
        GC.KeepAlive(keep);
    }

    [Fact]
    public void Every_Ownerless_ScopeDroppedToo_IsCollected_Control()
    {
        var clock = new WeakStateTimeProvider(new FakeTimeProvider());
        var ticks = new StrongBox<int>();
        var timer = StartOwnerlessTimer(clock, keep: null, ticks);

        GcAssert.Collected(timer, "nothing holds the scope, and this clock holds timers' state weakly");
        clock.Inner.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, ticks.Value);
    }

    // Starts an ownerless timer in a new scope and lets it tick once; only a weak reference to the timer leaves.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference StartOwnerlessTimer(WeakStateTimeProvider clock, List<TimerScope>? keep, StrongBox<int> ticks)
    {
        var scope = new TimerScope(clock);
        keep?.Add(scope);
        var timer = scope.Every(TimeSpan.FromSeconds(1), () => ticks.Value++);
        clock.Inner.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, ticks.Value);
        return new WeakReference(timer);
    }

    [Fact]
    public void ManyCreateDispose_SlotsReused_ActiveCountExact()
    {
        using var scope = new TimerScope(new FakeTimeProvider());
        var kept = new List<ScopedTimer>();
        for (var i = 0; i < 5_000; i++)
        {
            var timer = scope.Every(Ms, static () => { });
            if (i % 100 == 0)
            {
                kept.Add(timer);
            }
            else
            {
                timer.Dispose();
            }
        }

        Assert.Equal(kept.Count, scope.ActiveCount);
        Assert.True(scope.TableCapacity <= 256, $"table grew to {scope.TableCapacity} slots for {kept.Count} live timers");
    }

    /// <summary>
    /// On the system clock a tick or a loop body's continuation waiting in the thread-pool queue roots its owner until it
    /// runs; on a loaded machine that can outlast one series of forced collections, so poll (bounded) instead.
    /// </summary>
    private static void AllCollectedWithin(LeakTracker tracker) =>
        Assert.True(SpinWait.SpinUntil(() => tracker.AliveCount() == 0, Wait), $"owners still alive: {string.Join(", ", tracker.Survivors())}");

    private static void CollectedWithin(WeakReference reference, string because)
    {
        if (!SpinWait.SpinUntil(
            () =>
            {
                GcAssert.FullCollect();
                return !reference.IsAlive;
            },
            Wait))
        {
            GcAssert.Collected(reference, because);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference StartPausedOwnerTimerOnFreshThread(List<object>? keep)
    {
        WeakReference? weak = null;
        var thread = new Thread(() =>
        {
            var scope = new TimerScope(new FakeTimeProvider());
            var owner = new TickOwner();
            scope.After(owner, Timeout.InfiniteTimeSpan, static o => o.Tick());
            weak = new WeakReference(owner);
            keep?.Add(scope);
            keep?.Add(owner);
        });
        thread.Start();
        thread.JoinBounded();
        return weak!;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference StartEveryOwnerOnFreshThread(TimerScope scope, TickOwner? kept = null)
    {
        WeakReference? owner = null;
        var thread = new Thread(() =>
        {
            var created = kept ?? new TickOwner();
            scope.Every(created, 10 * Ms, static o => o.Tick());
            owner = new WeakReference(created);
        });
        thread.Start();
        thread.JoinBounded();
        return owner!;
    }

    [Fact]
    public void CreateDisposeChurn_ReusesTheEndedTimersSlot_OthersUntouched()
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var kept = 0;
        var churned = 0;
        var delays = 0;
        scope.Every(Ms, () => kept++);
        for (var i = 0; i < 1_000; i++)
        {
            var timer = scope.Every(Ms, () => churned++);
            Assert.Equal(2 + delays, scope.ActiveCount);
            timer.Dispose();
            if (i % 100 == 0)
            {
                _ = scope.Delay(Ms);
                delays++;
            }
        }

        Assert.Equal(1 + 10, scope.ActiveCount); // the kept timer and ten pending delays
        clock.Advance(Ms);
        Assert.Equal(1, kept);
        Assert.Equal(0, churned);
        Assert.Equal(1, scope.ActiveCount);
        Assert.True(scope.TableCapacity <= 32, $"table grew to {scope.TableCapacity} slots");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference StartCapturingTimer(TimerScope scope, bool dispose)
    {
        var capture = new TickOwner();
        var timer = scope.Every(TimeSpan.FromHours(1), capture.Tick);
        if (dispose)
        {
            timer.Dispose();
        }

        return new WeakReference(capture);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StartEveryOwners(TimerScope scope, LeakTracker tracker, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var owner = new TickOwner();
            scope.Every(owner, 10 * Ms, static o => o.Tick());
            tracker.Track(owner);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference StartEveryOwner(TimerScope scope, TickOwner owner, TimeSpan? period = null)
    {
        scope.Every(owner, period ?? 10 * Ms, static o => o.Tick());
        return new WeakReference(owner);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference StartAfterOwner(TimerScope scope, StrongBox<int> calls)
    {
        var owner = new TickOwner();
        scope.After(owner, 10 * Ms, static o => o.Tick());
        owner.Calls = calls;
        return new WeakReference(owner);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<ScopedLoop> StartLoopOwners(TimerScope scope, LeakTracker tracker, int count)
    {
        var loops = new List<ScopedLoop>();
        for (var i = 0; i < count; i++)
        {
            var owner = new TickOwner();
            loops.Add(scope.Loop(owner, 10 * Ms, static async (o, ct) =>
            {
                o.Tick();
                await Task.Yield();
            }));
            tracker.Track(owner);
        }

        return loops;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference StartLoopOwner(TimerScope scope, TickOwner owner, TimeSpan interval)
    {
        scope.Loop(owner, interval, static (o, _) =>
        {
            o.Tick();
            return default;
        });
        return new WeakReference(owner);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Task Delay, WeakReference Scope) StartDelay(TimeProvider clock, List<TimerScope>? keep, CancellationToken token, TimeSpan? due = null)
    {
        var created = new TimerScope(clock);
        keep?.Add(created);
        var delay = created.Delay(due ?? TimeSpan.FromSeconds(10), token);
        Assert.False(delay.IsCompleted);
        return (delay, new WeakReference(created));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static DroppedScopeRefs StartDroppedScope(TimeProvider clock)
    {
        var scope = new TimerScope(clock);
        var owner = new TickOwner();
        var capture = new TickOwner();
        scope.Every(owner, Ms, static o => o.Tick());
        var timer = scope.Every(Ms, capture.Tick);
        scope.Loop(owner, Ms, static (o, _) =>
        {
            o.Tick();
            return default;
        });
        return new DroppedScopeRefs(new WeakReference(scope), new WeakReference(owner), new WeakReference(capture), new WeakReference(timer));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TimerScope KeepScope(TimeProvider clock, TickOwner probe)
    {
        var scope = new TimerScope(clock);
        scope.Every(Ms, probe.Tick);
        return scope;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference CreateTimerUnderAsyncLocal(TimerScope scope, bool raw, out ITimer? rawTimer)
    {
        WeakReference? weak = null;
        ITimer? created = null;
        // A thread of its own, so the AsyncLocal value dies with that thread's ExecutionContext unless a timer captured it.
        var thread = new Thread(() =>
        {
            var local = new AsyncLocal<TickOwner>();
            var payload = new TickOwner();
            local.Value = payload;
            weak = new WeakReference(payload);
            if (raw)
            {
                created = TimeProvider.System.CreateTimer(static _ => { }, null, TimeSpan.FromHours(1), TimeSpan.FromHours(1));
            }
            else
            {
                scope.Every(TimeSpan.FromHours(1), static () => { });
            }
        });
        thread.Start();
        thread.JoinBounded();
        rawTimer = created;
        return weak!;
    }

    private sealed record DroppedScopeRefs(WeakReference Scope, WeakReference Owner, WeakReference Capture, WeakReference Timer);

    private sealed class TickOwner
    {
        private readonly Lock _lock = new();
        private int _ticks;
        private (int Target, TaskCompletionSource Signal)? _waiter;

        public StrongBox<int>? Calls { get; set; }

        public int Ticks => Volatile.Read(ref _ticks);

        public void Tick()
        {
            if (Calls is { } calls)
            {
                calls.Value++;
            }

            lock (_lock)
            {
                _ticks++;
                if (_waiter is { } w && _ticks >= w.Target)
                {
                    w.Signal.TrySetResult();
                }
            }
        }

        public Task WaitForTicksAsync(int target)
        {
            lock (_lock)
            {
                if (_ticks >= target)
                {
                    return Task.CompletedTask;
                }

                var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiter = (target, signal);
                return signal.Task;
            }
        }
    }
}
