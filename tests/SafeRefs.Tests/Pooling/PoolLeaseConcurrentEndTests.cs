using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Pooling;
using SafeRefs.Subscriptions;
using SafeRefs.Timers;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Pooling;

/// <summary>
/// Two ends of one lease on two threads: the first is held inside its end (in a remove accessor, after it closed the
/// lease and before the object went back) while the second runs.
/// </summary>
public sealed class PoolLeaseConcurrentEndTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DisposeAsync_WhileAnotherEndOfTheLeaseRuns_CompletesOnlyAfterTheObjectWentBack(bool firstIsAsync)
    {
        using var held = HeldEnd.Start(firstIsAsync);

        var second = held.Lease.DisposeAsync();
        var returnsAtCompletion = second.AsTask().ContinueWith(_ => held.Inner.Returns, TaskScheduler.Default);

        Assert.False(second.IsCompleted, "DisposeAsync completed while the first end still held the object");
        held.Release();
        await held.First.WaitAsync(Bound);
        Assert.Equal(1, await returnsAtCompletion.WaitAsync(Bound));
        Assert.Equal(1, held.Inner.Returns);
    }

    [Fact]
    public async Task Dispose_WhileAnotherEndOfTheLeaseRuns_ReturnsAtOnce_AndTheObjectGoesBackOnce()
    {
        using var held = HeldEnd.Start(firstIsAsync: false);

        held.Lease.Dispose();

        Assert.Equal(0, held.Inner.Returns);
        held.Release();
        await held.First.WaitAsync(Bound);
        Assert.Equal(1, held.Inner.Returns);
        Assert.Equal(0, held.Widget.ListenerCount);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Dispose_WhileAnotherEndOfTheLeaseRuns_NoLeaseTimerCallbackStartsAfterItReturned(bool secondDispose)
    {
        // The first end is held in a remove accessor, before it stops the lease's timers. Control
        // (no second Dispose): the tick in that window does start the callback.
        var clock = new FakeTimeProvider();
        var inner = new RecordingPool();
        var started = 0;
        using var held = HeldEnd.Start(
            firstIsAsync: false,
            new GuardedObjectPool<Widget>(inner, new() { TimeProvider = clock }),
            inner,
            lease => lease.Timers.After(TimeSpan.FromHours(1), () => Interlocked.Increment(ref started)));

        if (secondDispose)
        {
            held.Lease.Dispose();
        }

        clock.Advance(TimeSpan.FromHours(1));

        Assert.Equal(secondDispose ? 0 : 1, Volatile.Read(ref started));
        held.Release();
        await held.First.WaitAsync(Bound);
        Assert.Equal(1, held.Inner.Returns);
    }

    [Theory]
    [InlineData(TrackedKind.Subscription, true)]
    [InlineData(TrackedKind.Subscription, false)]
    [InlineData(TrackedKind.Timer, true)]
    [InlineData(TrackedKind.Timer, false)]
    [InlineData(TrackedKind.Registration, true)]
    [InlineData(TrackedKind.Registration, false)]
    public async Task Dispose_WhileAnotherEndOfTheLeaseRuns_NoTrackedCallbackStartsAfterItReturned(TrackedKind kind, bool secondDispose)
    {
        // The first end is held in the remove accessor of the last handler, before it reaches the registration tracked
        // earlier. Control (no second Dispose): the registration's callback does start in that window.
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var source = new Widget();
        var registration = new CallbackRegistration();
        var started = 0;
        Action callback = () => Interlocked.Increment(ref started);
        using var held = HeldEnd.Start(firstIsAsync: false, setUp: lease => _ = kind switch
        {
            TrackedKind.Subscription => lease.Track(Subscribe.Event(source, static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => callback()))),
            TrackedKind.Timer => lease.Track(scope.After(TimeSpan.FromHours(1), callback)),
            _ => (IDisposable)lease.Track(registration.On(callback)),
        });

        if (secondDispose)
        {
            held.Lease.Dispose();
        }

        source.RaiseChanged();
        clock.Advance(TimeSpan.FromHours(1));
        registration.Fire();

        Assert.Equal(secondDispose ? 0 : 1, Volatile.Read(ref started));
        held.Release();
        await held.First.WaitAsync(Bound);
        Assert.Equal(1, held.Inner.Returns);
    }

    [Fact]
    public async Task Dispose_WhileAnotherEndOfTheLeaseRuns_AUserRegistrationItHasNotReached_IsDisposedOnce()
    {
        // The first end is held in the remove accessor of the last handler: the second end disposes the registration
        // tracked earlier, and the first end, released, must not dispose it again.
        var registration = new CountingRegistration(holdFirstDispose: false);
        using var held = HeldEnd.Start(firstIsAsync: false, setUp: lease => lease.Track(registration));

        held.Lease.Dispose();

        Assert.Equal(1, registration.Calls);
        held.Release();
        await held.First.WaitAsync(Bound);
        Assert.Equal((1, 1), (registration.Calls, registration.MostAtOnce));
        Assert.Equal(1, held.Inner.Returns);
    }

    // returned = false is the control twin: nothing ends the lease but the held first end.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PoolReturn_WhileAnEndOfTheLeaseRuns_EndsItsTimersAndRegistrationsAsASecondDisposeDoes(bool returned)
    {
        // The first end is held in a remove accessor, before it stops the lease's timers and reaches the registration.
        var clock = new FakeTimeProvider();
        var inner = new RecordingPool();
        var registration = new CountingRegistration(holdFirstDispose: false);
        var started = 0;
        using var held = HeldEnd.Start(
            firstIsAsync: false,
            new GuardedObjectPool<Widget>(inner, new() { TimeProvider = clock }),
            inner,
            lease =>
            {
                lease.Timers.After(TimeSpan.FromHours(1), () => Interlocked.Increment(ref started));
                lease.Track(registration);
            });

        if (returned)
        {
            held.Pool.Return(held.Widget);
        }

        clock.Advance(TimeSpan.FromHours(1));

        Assert.Equal(returned ? 0 : 1, Volatile.Read(ref started));
        Assert.Equal(returned ? 1 : 0, registration.Calls);
        held.Release();
        await held.First.WaitAsync(Bound);
        Assert.Equal(1, registration.Calls);
        Assert.Equal(1, held.Inner.Returns);
    }

    // fails = false is the control twin: the registration the second end claims is disposed, and counted once.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Dispose_WhileAnotherEndOfTheLeaseRuns_ARegistrationItClaimsAndFailsToDispose_IsNotCountedDetached(bool fails)
    {
        // The first end is held in the remove accessor of the last handler: the second end claims the registration
        // tracked earlier, whose Dispose throws there; the first end, released, finds it claimed.
        var inner = new RecordingPool();
        var pool = new GuardedObjectPool<Widget>(inner);
        using var held = HeldEnd.Start(firstIsAsync: false, pool, inner, lease => lease.Track(new FailingRegistration(fails)));

        var second = Record.Exception(held.Lease.Dispose);

        Assert.Equal(fails, second is AggregateException);
        held.Release();
        await held.First.WaitAsync(Bound);
        Assert.Equal(fails ? 1L : 2L, pool.Statistics.Detached); // the handler, and the registration if it was disposed
    }

    [Fact]
    public async Task Dispose_WhileAnotherEndOfTheLeaseDisposesAUserRegistration_LeavesItToThatEnd()
    {
        // The first end is held inside the registration's own Dispose: the second end must not call it concurrently.
        var inner = new RecordingPool();
        var pool = new GuardedObjectPool<Widget>(inner);
        var lease = pool.Rent();
        var registration = new CountingRegistration(holdFirstDispose: true);
        lease.Track(registration);
        var first = Task.Run(lease.Dispose);
        Assert.True(registration.InFirstDispose.Wait(Bound), "the first end did not reach the registration");

        lease.Dispose();

        Assert.Equal(1, registration.Calls);
        registration.Release.Set();
        await first.WaitAsync(Bound);
        Assert.Equal((1, 1), (registration.Calls, registration.MostAtOnce));
        Assert.Equal(1, inner.Returns);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Dispose_WhileAnotherEndDisposesATrackedBag_NoCallbackOfTheBagsTokenStartsAfterItReturned(bool secondDispose)
    {
        // The first end is held inside the bag's disposal, in a callback of the bag's Lifetime (cancelled before the bag
        // disposes any item): a bag is disposed by every end, as a token is, and the second end's disposal of it goes
        // through its tokens (not its registration, which stays the first end's). Control (no second Dispose): the
        // handler does start.
        var inner = new RecordingPool();
        var pool = new GuardedObjectPool<Widget>(inner);
        var lease = pool.Rent();
        var source = new Widget();
        var started = 0;
        var holder = new CountingRegistration(holdFirstDispose: true);
        var registration = new CountingRegistration(holdFirstDispose: false);
        var bag = lease.Track(new SubscriptionBag());
        bag.Add(Subscribe.Event(source, static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => Interlocked.Increment(ref started))));
        bag.Add(registration);
        using var holding = bag.Lifetime.Register(holder.Dispose);
        var first = Task.Run(lease.Dispose);
        Assert.True(holder.InFirstDispose.Wait(Bound), "the first end did not reach the bag's lifetime callback");

        if (secondDispose)
        {
            lease.Dispose();
        }

        source.RaiseChanged();

        Assert.Equal(secondDispose ? 0 : 1, Volatile.Read(ref started));
        holder.Release.Set();
        await first.WaitAsync(Bound);
        Assert.Equal((1, 1), (registration.Calls, registration.MostAtOnce));
        Assert.True(SpinWait.SpinUntil(() => inner.Returns == 1, Bound), "the object never went back");
    }

    [Fact]
    public async Task Dispose_InsideATrackedSubscriptionsHandler_WhileAnotherEndOfTheLeaseRuns_ReturnsAndTheObjectGoesBackOnce()
    {
        // The second end disposes the subscription from inside its own handler: it must not wait for that handler.
        var source = new Widget();
        var ranInside = false;
        using var held = HeldEnd.Start(firstIsAsync: false, setUp: lease => lease.Track(Subscribe.Event(source, static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) =>
        {
            lease.Dispose();
            ranInside = true;
        }))));

        await Task.Run(source.RaiseChanged).WaitAsync(Bound);

        Assert.True(ranInside);
        Assert.Equal(0, source.ChangedCount);
        held.Release();
        await held.First.WaitAsync(Bound);

        // The first end is a Dispose, which does not wait for the hand-back (it may run from the handler's idle wait).
        await held.Lease.DisposeAsync().AsTask().WaitAsync(Bound);
        Assert.Equal(1, held.Inner.Returns);
    }

    [Fact]
    public async Task DisposeAsync_InsideALeaseTimerCallback_WhileAnotherEndOfTheLeaseRuns_FaultsAtOnce()
    {
        // The first end is held in a remove accessor, before it stops the lease's timers: the
        // second end stops them, and only then knows that its hand-back waits for the callback it runs in.
        var clock = new FakeTimeProvider();
        var inner = new RecordingPool();
        ValueTask inside = default;
        var completedInside = false;
        using var held = HeldEnd.Start(
            firstIsAsync: false,
            new GuardedObjectPool<Widget>(inner, new() { TimeProvider = clock }),
            inner,
            lease => lease.Timers.After(TimeSpan.FromHours(1), () =>
            {
                inside = lease.DisposeAsync();
                completedInside = inside.IsCompleted;
            }));

        clock.Advance(TimeSpan.FromHours(1));

        Assert.True(completedInside, "DisposeAsync inside the lease's own timer callback was pending: awaiting it there would hang");
        await Assert.ThrowsAsync<InvalidOperationException>(() => inside.AsTask().Bounded());
        held.Release();
        await held.First.Bounded();

        // The first end is a Dispose, which does not wait for the hand-back: it can be joined to the timer callback's
        // idle wait and run from there.
        Assert.True(SpinWait.SpinUntil(() => held.Inner.Returns == 1, Bound), "the object never went back");
        Assert.Equal(1, held.Inner.Returns);
    }

    [Fact]
    public async Task DisposeAsync_OfAnEndedLease_ObjectRentedAgainAndItsNewEndRunning_CompletesAtOnce()
    {
        // Control: the stale DisposeAsync must not wait for the next lease of the same object.
        var inner = new RecordingPool();
        var pool = new GuardedObjectPool<Widget>(inner);
        var stale = pool.Rent();
        stale.Dispose();
        using var held = HeldEnd.Start(firstIsAsync: false, pool, inner);
        Assert.Same(inner.Created, held.Widget);

        var late = stale.DisposeAsync();

        Assert.True(late.IsCompletedSuccessfully);
        held.Release();
        await held.First.WaitAsync(Bound);
        Assert.Equal(2, inner.Returns);
    }

    public enum TrackedKind
    {
        Subscription,
        Timer,
        Registration,
    }

    /// <summary>A plain registration: <see cref="Fire"/> runs its callback until it is disposed.</summary>
    private sealed class CallbackRegistration : IDisposable
    {
        private Action? _callback;

        public CallbackRegistration On(Action callback)
        {
            _callback = callback;
            return this;
        }

        public void Fire() => Volatile.Read(ref _callback)?.Invoke();

        public void Dispose() => Volatile.Write(ref _callback, null);
    }

    /// <summary>A registration whose <see cref="Dispose"/> throws, or not.</summary>
    private sealed class FailingRegistration(bool fails) : IDisposable
    {
        public void Dispose()
        {
            if (fails)
            {
                throw new InvalidOperationException("the registration's Dispose failed");
            }
        }
    }

    /// <summary>A registration that counts its <see cref="Dispose"/> calls and how many ran at once; the first can be
    /// held until <see cref="Release"/> is set.</summary>
    private sealed class CountingRegistration(bool holdFirstDispose) : IDisposable
    {
        private int _calls;
        private int _inside;
        private int _mostAtOnce;

        public ManualResetEventSlim InFirstDispose { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public int Calls => Volatile.Read(ref _calls);

        public int MostAtOnce => Volatile.Read(ref _mostAtOnce);

        public void Dispose()
        {
            var call = Interlocked.Increment(ref _calls);
            var inside = Interlocked.Increment(ref _inside);
            InterlockedMax(ref _mostAtOnce, inside);
            if (call == 1 && holdFirstDispose)
            {
                InFirstDispose.Set();
                Release.Wait(Bound);
            }

            Interlocked.Decrement(ref _inside);
        }

        private static void InterlockedMax(ref int location, int value)
        {
            var seen = Volatile.Read(ref location);
            while (seen < value && Interlocked.CompareExchange(ref location, value, seen) is var was && was != seen)
            {
                seen = was;
            }
        }
    }

    /// <summary>An inner pool of one widget that counts its returns (after the widget is back in it).</summary>
    private sealed class RecordingPool : ObjectPool<Widget>
    {
        private Widget? _kept;
        private int _returns;

        public Widget? Created { get; private set; }

        public int Returns => Volatile.Read(ref _returns);

        public override Widget Get() => Interlocked.Exchange(ref _kept, null) ?? (Created = new Widget());

        public override void Return(Widget obj)
        {
            Volatile.Write(ref _kept, obj);
            Interlocked.Increment(ref _returns);
        }
    }

    /// <summary>A lease whose first end (<c>Dispose</c> or <c>DisposeAsync</c>, on a thread-pool thread) is held in the
    /// remove accessor of its one handler until <see cref="Release"/>.</summary>
    private sealed class HeldEnd : IDisposable
    {
        private readonly ManualResetEventSlim _inRemove = new();
        private readonly ManualResetEventSlim _release = new();

        private HeldEnd(GuardedObjectPool<Widget> pool, RecordingPool inner)
        {
            Pool = pool;
            Inner = inner;
            Lease = pool.Rent();
            Widget = Lease.Value;
        }

        public GuardedObjectPool<Widget> Pool { get; }

        public RecordingPool Inner { get; }

        public PoolLease<Widget> Lease { get; }

        public Widget Widget { get; }

        /// <summary>Gets the first end; it completes after <see cref="Release"/> (for <c>DisposeAsync</c>, once the object went back).</summary>
        public Task First { get; private set; } = Task.CompletedTask;

        public static HeldEnd Start(bool firstIsAsync, GuardedObjectPool<Widget>? pool = null, RecordingPool? inner = null, Action<PoolLease<Widget>>? setUp = null)
        {
            inner ??= new RecordingPool();
            var held = new HeldEnd(pool ?? new GuardedObjectPool<Widget>(inner), inner);
            setUp?.Invoke(held.Lease);
            held.Lease.On(static (w, h) => w.Changed += h, (w, h) =>
            {
                w.Changed -= h;
                held._inRemove.Set();
                held._release.Wait(Bound);
            }, (EventHandler)((_, _) => { }));
            held.First = firstIsAsync ? Task.Run(async () => await held.Lease.DisposeAsync()) : Task.Run(held.Lease.Dispose);
            Assert.True(held._inRemove.Wait(Bound), "the first end did not reach the remove accessor");
            return held;
        }

        public void Release() => _release.Set();

        public void Dispose()
        {
            _release.Set();
            First.Wait(Bound);
            _inRemove.Dispose();
            _release.Dispose();
        }
    }
}
