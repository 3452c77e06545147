using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Internal;
using SafeRefs.Pooling;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Pooling;

public sealed class GuardedObjectPoolTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public void Constructor_NullInner_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => new GuardedObjectPool<Widget>(null!));
    }

    [Fact]
    public void Options_InvalidValues_Throw()
    {
        var options = new GuardedObjectPoolOptions<Widget>();
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxListenersPerEvent = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.OnExceeded = (ListenerBudgetAction)9);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.OnLeakSuspected = (LeakAction)9);
        Assert.Equal(10, options.MaxListenersPerEvent);
        Assert.Equal(ListenerBudgetAction.Warn, options.OnExceeded);
        Assert.Equal(LeakAction.WarnAndDiscard, options.OnLeakSuspected);
    }

    [Fact]
    public void On_NullArguments_Throw()
    {
        var pool = Widget.PoolOfOne();
        using var lease = pool.Rent();
        EventHandler handler = static (_, _) => { };
        Assert.Throws<ArgumentNullException>(() => lease.On(null!, static (w, h) => w.Changed -= h, handler));
        Assert.Throws<ArgumentNullException>(() => lease.On(static (w, h) => w.Changed += h, null!, handler));
        Assert.Throws<ArgumentNullException>(() => lease.On<EventHandler>(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, null!));
        Assert.Throws<ArgumentNullException>(() => lease.Track<IDisposable>(null!));
        Assert.Throws<ArgumentNullException>(() => pool.Return(null!));
    }

    [Fact]
    public void Dispose_DetachesEverythingLastInFirstOut_ThenReturnsObject()
    {
        var pool = Widget.PoolOfOne();
        var order = new List<string>();
        var lease = pool.Rent();
        var widget = lease.Value;
        lease.On(static (w, h) => w.Changed += h, (w, h) =>
            {
                order.Add("changed");
                w.Changed -= h;
            }, (EventHandler)((_, _) => { }))
            .On(static (w, h) => w.Ticked += h, (w, h) =>
            {
                order.Add("ticked");
                w.Ticked -= h;
            }, (EventHandler<int>)((_, _) => { }));
        lease.Track(new ActionDisposable(() => order.Add("registration")));
        Assert.Equal(3, lease.TrackedCount);

        lease.Dispose();

        Assert.Equal(["registration", "ticked", "changed"], order);
        Assert.Equal(0, widget.ListenerCount);
        Assert.Equal(0, lease.TrackedCount);
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    [Fact]
    public void Dispose_Twice_DoesNothingMore()
    {
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        lease.Dispose();
        lease.Dispose();

        Assert.Equal(1, pool.Statistics.Returned);
        Assert.Equal(0, pool.Statistics.Outstanding);
    }

    [Fact]
    public void StaleLease_NeverAffectsLaterLeaseOfSameObject()
    {
        var pool = Widget.PoolOfOne();
        var stale = pool.Rent();
        var widget = stale.Value;
        stale.Dispose();

        using var current = pool.Rent();
        Assert.Same(widget, current.Value);
        current.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));

        stale.Dispose();
        Assert.Throws<ObjectDisposedException>(() => stale.Value);
        Assert.Throws<ObjectDisposedException>(() => stale.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { })));
        Assert.Throws<ObjectDisposedException>(() => stale.Track(new ActionDisposable(static () => { })));
        Assert.Throws<ObjectDisposedException>(() => stale.Token);
        Assert.Equal(0, stale.TrackedCount);

        Assert.Equal(1, widget.ChangedCount);
        Assert.Equal(1, current.TrackedCount);
        Assert.Equal(1, pool.Statistics.Outstanding);
    }

    [Fact]
    public void StaleLease_OnTheRenterThread_AfterAnotherThreadRentedTheObject_DoesNotAffectThatLease()
    {
        var pool = Widget.PoolOfOne();
        var stale = pool.Rent();
        var widget = stale.Value;
        stale.Dispose();
        using var rented = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var otherTracked = -1;
        var other = new Thread(() =>
        {
            var lease = pool.Rent();
            lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));
            rented.Set();
            release.WaitBounded();
            otherTracked = lease.TrackedCount;
            lease.Dispose();
        });
        other.Start();
        rented.WaitBounded();

        stale.Dispose();
        Assert.Throws<ObjectDisposedException>(() => stale.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { })));
        Assert.Throws<ObjectDisposedException>(() => stale.Track(new ActionDisposable(static () => { })));
        Assert.Equal(0, stale.TrackedCount);
        Assert.Equal(1, widget.ChangedCount);
        release.Set();
        other.JoinBounded();

        Assert.Equal(1, otherTracked);
        Assert.Equal(0, widget.ListenerCount);
        var stats = pool.Statistics;
        Assert.Equal((2L, 2L, 1L, 0L), (stats.Rented, stats.Returned, stats.Detached, stats.Outstanding));
    }

    [Fact]
    public void Dispose_FromAnotherThreadWhileTheRentersAddAccessorRuns_ReturnsAtOnce_TheAttacherRemovesItsHandler()
    {
        // The other thread's end does not wait for this accessor; the object goes back only once it returned, and the
        // attacher takes its handler off again.
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        var returnedWhileAddRan = -1L;
        var thrown = Assert.Throws<ObjectDisposedException>(() => lease.On(
            (w, h) =>
            {
                w.Changed += h;
                var other = new Thread(lease.Dispose);
                other.Start();
                other.JoinBounded(); // would wait for this accessor (which waits for it) if the end took the lock first
                returnedWhileAddRan = pool.Statistics.Returned;
            },
            static (w, h) => w.Changed -= h,
            (EventHandler)((_, _) => { })));

        Assert.Contains("removed again", thrown.Message, StringComparison.Ordinal);
        Assert.Equal(0L, returnedWhileAddRan);
        Assert.Equal(0, widget.ListenerCount);
        var stats = pool.Statistics;
        Assert.Equal((1L, 0L, 0L), (stats.Returned, stats.Detached, stats.Outstanding));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Dispose_InsideAHandlerRaisedUnderTheSourcesLock_WhileAConcurrentOnsAddWaitsForThatLock_Returns(bool concurrentOn)
    {
        // The add accessor takes the source's lock, which the raise holds while the handler ends the lease. Control
        // (no concurrent On): the end returns.
        var pool = new GuardedObjectPool<LockingSource>(new DefaultObjectPool<LockingSource>(new DefaultPooledObjectPolicy<LockingSource>(), 1));
        var lease = pool.Rent();
        var source = lease.Value;
        using var inAdd = new ManualResetEventSlim(!concurrentOn);
        using var disposed = new ManualResetEventSlim();
        lease.On<EventHandler>(static (c, h) => c.Add(h), static (c, h) => c.Remove(h), (_, _) =>
        {
            if (inAdd.Wait(Bound))
            {
                lease.Dispose(); // on the raising thread, which holds the source's lock
                disposed.Set();
            }
        });
        Exception? attachFailure = null;
        var attacher = new Thread(() =>
        {
            attachFailure = Record.Exception(() => lease.On<EventHandler>(
                (c, h) =>
                {
                    inAdd.Set();
                    c.Add(h);
                },
                static (c, h) => c.Remove(h),
                static (_, _) => { }));
        })
        { IsBackground = true };

        var raiser = new Thread(source.Raise) { IsBackground = true };
        raiser.Start();
        if (concurrentOn)
        {
            attacher.Start();
        }

        // Threads that deadlock are background threads: they do not keep the test host alive.
        Assert.True(disposed.Wait(Bound), "the end inside the handler waited for a concurrent On's add accessor");
        raiser.JoinBounded();
        if (concurrentOn)
        {
            attacher.JoinBounded();
            Assert.IsType<ObjectDisposedException>(attachFailure);
        }

        Assert.Equal(0, source.Count);
        Assert.Equal(1L, pool.Statistics.Returned);
    }

    [Fact]
    public void Leases_EndedOnAnotherThread_StayExact()
    {
        var pool = Widget.PoolOfOne();
        const int Leases = 12;
        for (var i = 0; i < Leases; i++)
        {
            var lease = pool.Rent();
            lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));
            var other = new Thread(lease.Dispose);
            other.Start();
            other.JoinBounded();
        }

        var stats = pool.Statistics;
        Assert.Equal((12L, 12L, 12L, 0L), (stats.Rented, stats.Returned, stats.Detached, stats.Outstanding));
        Assert.Equal(0, pool.Get().ListenerCount);
    }

    [Fact]
    public void On_FromInsideAnAddAccessorOfTheSameLease_TracksBoth()
    {
        var pool = new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>(), maximumRetained: 1));
        var lease = pool.Rent();
        var widget = lease.Value;
        lease.On(
            (w, h) =>
            {
                w.Changed += h;
                lease.On(static (x, t) => x.Ticked += t, static (x, t) => x.Ticked -= t, (EventHandler<int>)((_, _) => { }));
            },
            static (w, h) => w.Changed -= h,
            (EventHandler)((_, _) => { }));

        Assert.Equal(2, lease.TrackedCount);
        Assert.Equal(2, widget.ListenerCount);
        lease.Dispose();
        Assert.Equal(0, widget.ListenerCount);
        Assert.Equal(2, pool.Statistics.Detached);
    }

    [Fact]
    public void Dispose_RemoveAccessorUsesManyOtherPools_StatisticsStayExact()
    {
        // The other pools make this thread recycle its per-thread statistics cells while the lease ends.
        var others = Enumerable.Range(0, 20).Select(_ => new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>()))).ToList();
        var pool = new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>()));
        for (var round = 0; round < 3; round++)
        {
            var lease = pool.Rent();
            lease.On(
                static (w, h) => w.Changed += h,
                (w, h) =>
                {
                    w.Changed -= h;
                    others.ForEach(static other => other.Rent().Dispose());
                },
                (EventHandler)((_, _) => { }));
            lease.Dispose();
        }

        var stats = pool.Statistics;
        Assert.Equal((3L, 3L, 3L, 0L), (stats.Rented, stats.Returned, stats.Detached, stats.Outstanding));
        Assert.All(others, static other => Assert.Equal((3L, 3L), (other.Statistics.Rented, other.Statistics.Returned)));
    }

    [Fact]
    public void On_AddAccessorAttachesThenThrows_TheHandlerIsRemovedAgain_AndTheFailurePropagates()
    {
        // Untracked, the forwarder would stay on the reused object, one more per failure.
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;

        var thrown = Assert.Throws<InvalidOperationException>(() => lease.On(
            static (w, h) =>
            {
                w.Changed += h;
                throw new InvalidOperationException("add failed after attaching");
            },
            static (w, h) => w.Changed -= h,
            (EventHandler)((_, _) => { })));

        Assert.Equal("add failed after attaching", thrown.Message);
        Assert.Equal(0, widget.ListenerCount);
        Assert.Equal(0, lease.TrackedCount);
        lease.Dispose();
        Assert.Equal(0, widget.ListenerCount);
    }

    [Fact]
    public void On_AddAccessorEndsTheLease_HandlerRemovedAgainAndNextLeaseSeesNothing()
    {
        var pool = new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>(), maximumRetained: 1));
        var lease = pool.Rent();
        var widget = lease.Value;

        Assert.Throws<ObjectDisposedException>(() => lease.On(
            (w, h) =>
            {
                w.Changed += h;
                lease.Dispose();
            },
            static (w, h) => w.Changed -= h,
            (EventHandler)((_, _) => { })));

        Assert.Equal(0, widget.ListenerCount);
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
        Assert.Equal(0, next.TrackedCount);
        next.Dispose();
        Assert.Equal(0, widget.ListenerCount);
    }

    [Fact]
    public void On_AddAccessorEndsTheLease_TheObjectGoesBackOnlyOnceTheAccessorReturned()
    {
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        PoolLease<Widget>? rentedMeanwhile = null;

        Assert.Throws<ObjectDisposedException>(() => lease.On(
            (w, h) =>
            {
                w.Changed += h;
                lease.Dispose();
                rentedMeanwhile = pool.Rent(); // the accessor still runs on the object: not handed out again
            },
            static (w, h) => w.Changed -= h,
            (EventHandler)((_, _) => { })));

        Assert.NotSame(widget, rentedMeanwhile!.Value);
        using var after = pool.Rent();
        Assert.Same(widget, after.Value);
        Assert.Equal(0, widget.ListenerCount);
        rentedMeanwhile.Dispose();
    }

    [Fact]
    public void Token_CancelledWhenLeaseEnds()
    {
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var token = lease.Token;
        Assert.False(token.IsCancellationRequested);

        lease.Dispose();

        Assert.True(token.IsCancellationRequested);
    }

    [Fact]
    public void Timers_StoppedWhenLeaseEnds()
    {
        var clock = new FakeTimeProvider();
        var pool = Widget.PoolOfOne(new GuardedObjectPoolOptions<Widget> { TimeProvider = clock });
        var ticks = 0;
        var lease = pool.Rent();
        var timers = lease.Timers;
        timers.Every(TimeSpan.FromSeconds(1), () => ticks++);
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(2, ticks);

        lease.Dispose();
        clock.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(2, ticks);
        Assert.True(timers.IsDisposed);
        Assert.Equal(0, timers.ActiveCount);
        using var next = pool.Rent();
        Assert.NotSame(timers, next.Timers);
    }

    [Fact]
    public async Task Dispose_WhileATrackedTokenRegistrationsCallbackRuns_TheObjectGoesBackOnlyAfterItReturned()
    {
        // The lease disposes what it tracked before the object goes back, and a CancellationTokenRegistration's Dispose
        // waits for its running callback: the callback never overlaps the object's next use.
        Assert.False(await ReturnedWhileTokenCallbackRunsAsync(track: true));
    }

    [Fact]
    public async Task Dispose_TokenRegistrationNotTracked_TheObjectGoesBackWhileItsCallbackRuns_Control()
    {
        // The check can see an overlap: a registration the lease does not track is not waited for.
        Assert.True(await ReturnedWhileTokenCallbackRunsAsync(track: false));
    }

    [Fact]
    public void Reuse_FiftyLeasesOfOneHandler_NeverWarns()
    {
        var pool = Widget.PoolOfOne();
        var exceeded = 0;
        pool.MaxListenersExceeded += (_, _) => exceeded++;
        Widget? widget = null;
        for (var i = 0; i < 50; i++)
        {
            using var lease = pool.Rent();
            widget = lease.Value;
            lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));
            Assert.Equal(1, widget.ChangedCount);
        }

        Assert.Equal(0, exceeded);
        Assert.Equal(0, widget!.ChangedCount);
    }

    [Fact]
    public void Warn_AboveLimit_OncePerObjectAndEvent_WithLog()
    {
        var logger = new FakeLogger();
        var pool = Widget.PoolOfOne(new GuardedObjectPoolOptions<Widget> { MaxListenersPerEvent = 2, Logger = logger });
        var raised = new List<ListenerLeakEventArgs>();
        pool.MaxListenersExceeded += (sender, e) =>
        {
            Assert.Same(pool, sender);
            raised.Add(e);
        };

        for (var round = 0; round < 2; round++)
        {
            using var lease = pool.Rent();
            for (var i = 0; i < 4; i++)
            {
                lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));
            }

            Assert.Equal(4, lease.Value.ChangedCount);
        }

        var args = Assert.Single(raised);
        Assert.Equal("Changed", args.EventName);
        Assert.Equal(3, args.Count);
        Assert.Equal(2, args.MaxListeners);
        Assert.IsType<Widget>(args.Source);
        var record = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(1300, record.Id.Id);
        Assert.Contains("Widget", record.Message, StringComparison.Ordinal);
        Assert.Contains("limit of 2", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Throw_AboveLimit_RefusesAndAttachesNothing()
    {
        var pool = Widget.PoolOfOne(new GuardedObjectPoolOptions<Widget> { MaxListenersPerEvent = 1, OnExceeded = ListenerBudgetAction.Throw });
        using var lease = pool.Rent();
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));

        var ex = Assert.Throws<ListenerLimitExceededException>(
            () => lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { })));

        Assert.Equal(2, ex.Count);
        Assert.Equal(1, lease.Value.ChangedCount);
        Assert.Equal(1, lease.TrackedCount);
    }

    [Fact]
    public void Probe_AttachmentBehindLease_DetectedAndDiscardedByDefault()
    {
        var pool = Widget.PoolOfOne(new GuardedObjectPoolOptions<Widget> { ListenerCountProbe = static w => w.ListenerCount });
        var leaks = new List<LeaseLeakEventArgs<Widget>>();
        pool.LeakSuspected += (_, e) => leaks.Add(e);
        var lease = pool.Rent();
        var widget = lease.Value;
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));
        widget.Changed += static (_, _) => { };   // behind the lease's back

        lease.Dispose();

        var leak = Assert.Single(leaks);
        Assert.Same(widget, leak.Value);
        Assert.Equal(0, leak.CountAtRent);
        Assert.Equal(1, leak.CountAtReturn);
        Assert.True(leak.Discarded);
        Assert.True(widget.IsDisposed);
        Assert.Equal(1, pool.Statistics.LeaksSuspected);
        using var next = pool.Rent();
        Assert.NotSame(widget, next.Value);
    }

    [Fact]
    public void Probe_Warn_ReturnsObjectAnyway()
    {
        var pool = Widget.PoolOfOne(new GuardedObjectPoolOptions<Widget> { ListenerCountProbe = static w => w.ListenerCount, OnLeakSuspected = LeakAction.Warn });
        var lease = pool.Rent();
        var widget = lease.Value;
        widget.Ticked += static (_, _) => { };

        lease.Dispose();

        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
        Assert.False(widget.IsDisposed);
        Assert.Equal(1, pool.Statistics.LeaksSuspected);
    }

    [Fact]
    public void Probe_Warn_ADetachAlsoFailed_TheEventSaysDiscarded()
    {
        // Warn keeps the object only if nothing else failed: a failed detach discards it, and the event says so.
        var pool = Widget.PoolOfOne(new GuardedObjectPoolOptions<Widget> { ListenerCountProbe = static w => w.ListenerCount, OnLeakSuspected = LeakAction.Warn });
        var leaks = new List<LeaseLeakEventArgs<Widget>>();
        pool.LeakSuspected += (_, e) => leaks.Add(e);
        var lease = pool.Rent();
        var widget = lease.Value;
        lease.On(static (w, h) => w.Changed += h, static (_, _) => throw new InvalidOperationException("remove failed"), (EventHandler)((_, _) => { }));

        Assert.Throws<AggregateException>(lease.Dispose);

        Assert.True(Assert.Single(leaks).Discarded);
        Assert.True(widget.IsDisposed);
    }

    [Fact]
    public void Probe_Throw_ThrowsAfterDiscarding()
    {
        var pool = Widget.PoolOfOne(new GuardedObjectPoolOptions<Widget> { ListenerCountProbe = static w => w.ListenerCount, OnLeakSuspected = LeakAction.Throw });
        var lease = pool.Rent();
        var widget = lease.Value;
        widget.Changed += static (_, _) => { };

        var ex = Assert.Throws<LeaseLeakException>(lease.Dispose);

        Assert.Equal(1, ex.CountAtReturn);
        Assert.True(widget.IsDisposed);
        Assert.Equal(0, pool.Statistics.Outstanding);
    }

    [Fact]
    public void Probe_NoBehindAttachment_NoLeak()
    {
        var pool = Widget.PoolOfOne(new GuardedObjectPoolOptions<Widget> { ListenerCountProbe = static w => w.ListenerCount });
        var lease = pool.Rent();
        var widget = lease.Value;
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));
        lease.Dispose();

        Assert.Equal(0, pool.Statistics.LeaksSuspected);
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    [Fact]
    public void Dispose_OneDetachThrows_OthersStillDetachedAndObjectDiscarded()
    {
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }))
            .On(static (w, h) => w.Ticked += h, static (_, _) => throw new InvalidOperationException("remove failed"), (EventHandler<int>)((_, _) => { }))
            .On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));

        var ex = Assert.Throws<AggregateException>(lease.Dispose);

        Assert.IsType<InvalidOperationException>(Assert.Single(ex.InnerExceptions));
        Assert.Equal(0, widget.ChangedCount);
        Assert.True(widget.IsDisposed);
        Assert.Equal(0, pool.Statistics.Outstanding);
    }

    [Fact]
    public void Return_ObjectOfActiveLease_DetachesWhatTheLeaseTracked()
    {
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));

        pool.Return(widget);

        Assert.Equal(0, widget.ChangedCount);
        Assert.Throws<ObjectDisposedException>(() => lease.Value);
        lease.Dispose();
        Assert.Equal(1, pool.Statistics.Returned);
    }

    [Fact]
    public void GetReturn_UnguardedPath_CountedInStatistics()
    {
        var pool = Widget.PoolOfOne();
        var widget = pool.Get();
        Assert.Equal(1, pool.Statistics.Outstanding);

        pool.Return(widget);

        var stats = pool.Statistics;
        Assert.Equal(1, stats.Rented);
        Assert.Equal(1, stats.Returned);
        Assert.Equal(0, stats.Outstanding);
        Assert.Same(widget, pool.Get());
    }

    // Get (the ObjectPool<T> API) hands out no lease: nothing can be attached through the guard, so Return ends the use
    // from the object's guard state alone (72 B per use while Get allocated a lease only Return could reach).
    [Fact]
    public void GetReturn_Warmed_AllocatesNothing()
    {
        var pool = Widget.PoolOfOne(new GuardedObjectPoolOptions<Widget> { ListenerCountProbe = static w => w.ListenerCount });
        pool.Return(pool.Get());
        const int Rounds = 100;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Rounds; i++)
        {
            pool.Return(pool.Get());
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal((Rounds + 1L, 0L), (pool.Statistics.Returned, pool.Statistics.Outstanding));
    }

    [Theory]
    [InlineData(LeakAction.Warn)]
    [InlineData(LeakAction.WarnAndDiscard)]
    [InlineData(LeakAction.Throw)]
    public void GetReturn_ProbeFindsAttachment_ActsAsForALease(LeakAction action)
    {
        var pool = Widget.PoolOfOne(new GuardedObjectPoolOptions<Widget> { ListenerCountProbe = static w => w.ListenerCount, OnLeakSuspected = action });
        var leaks = 0;
        pool.LeakSuspected += (_, _) => leaks++;
        var widget = pool.Get();
#pragma warning disable SR1008 // the attachment behind the guard's back that the probe is to find
        widget.Changed += static (_, _) => { };
#pragma warning restore SR1008

        if (action == LeakAction.Throw)
        {
            Assert.Equal(1, Assert.Throws<LeaseLeakException>(() => pool.Return(widget)).CountAtReturn);
        }
        else
        {
            pool.Return(widget);
        }

        Assert.Equal((1, 1L, 0L), (leaks, pool.Statistics.LeaksSuspected, pool.Statistics.Outstanding));
        Assert.Equal(action != LeakAction.Warn, widget.IsDisposed);
        Assert.Equal(action == LeakAction.Warn, ReferenceEquals(widget, pool.Get()));
    }

    [Fact]
    public void GetReturn_ProbeThrows_ObjectDiscardedAndFailureThrownOnce()
    {
        var throwing = false;
        var pool = Widget.PoolOfOne(new GuardedObjectPoolOptions<Widget> { ListenerCountProbe = _ => throwing ? throw new InvalidOperationException("probe") : 0 });
        var widget = pool.Get();
        throwing = true;

        var ex = Assert.Throws<AggregateException>(() => pool.Return(widget));
        pool.Return(widget);

        Assert.Equal("probe", Assert.Single(ex.InnerExceptions).Message);
        Assert.True(widget.IsDisposed);
        Assert.Equal((1L, 0L), (pool.Statistics.Returned, pool.Statistics.Outstanding));
        throwing = false;
        Assert.NotSame(widget, pool.Get());
    }

    [Fact]
    public void Return_OfAnObjectReturnedAlready_IsIgnored_SoTwoRentersNeverShareIt()
    {
        var pool = new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>(), maximumRetained: 4));
        var lease = pool.Rent();
        var widget = lease.Value;
        lease.Dispose();
        pool.Return(widget);
        var got = pool.Get();
        pool.Return(got);
        pool.Return(got);

        using var first = pool.Rent();
        using var second = pool.Rent();

        Assert.Same(widget, got);
        Assert.NotSame(first.Value, second.Value);
        var stats = pool.Statistics;
        Assert.Equal((2L, 2L, 2L), (stats.Returned, stats.Outstanding, stats.Rented - 2));
    }

    [Fact]
    public void Return_OfAnObjectNeverRentedHere_GoesToTheInnerPoolOnce()
    {
        var pool = new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>(), maximumRetained: 4));
        var seeded = new Widget();
        pool.Return(seeded);
        pool.Return(seeded);

        using var first = pool.Rent();
        using var second = pool.Rent();

        Assert.Same(seeded, first.Value);
        Assert.NotSame(seeded, second.Value);
        Assert.Equal((0L, 2L), (pool.Statistics.Returned, pool.Statistics.Outstanding));
    }

    [Fact]
    public void CreateGuarded_UsesProviderAndPolicy()
    {
        var pool = new DefaultObjectPoolProvider().CreateGuarded(new DefaultPooledObjectPolicy<Widget>(), new GuardedObjectPoolOptions<Widget> { MaxListenersPerEvent = 1 });
        using var lease = pool.Rent();
        Assert.NotNull(lease.Value);
        Assert.Throws<ArgumentNullException>(() => ((ObjectPoolProvider)null!).CreateGuarded(new DefaultPooledObjectPolicy<Widget>()));
        Assert.Throws<ArgumentNullException>(() => new DefaultObjectPoolProvider().CreateGuarded<Widget>(null!));
    }

    [Fact]
    public void AddGuardedObjectPool_RegistersSingletonAlsoAsObjectPool()
    {
        var exceeded = 0;
        var services = new ServiceCollection()
            .AddGuardedObjectPool<Widget>(o => o.MaxListenersPerEvent = 1);
        using var provider = services.BuildServiceProvider();

        var pool = provider.GetRequiredService<GuardedObjectPool<Widget>>();
        Assert.Same(pool, provider.GetRequiredService<ObjectPool<Widget>>());
        pool.MaxListenersExceeded += (_, _) => exceeded++;
        using (var lease = pool.Rent())
        {
            lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));
            lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));
        }

        Assert.Equal(1, exceeded);
        Assert.Throws<ArgumentNullException>(() => ((IServiceCollection)null!).AddGuardedObjectPool<Widget>());
    }

    [Fact]
    public void AddGuardedObjectPool_ContainerDisposed_DisposesTheRetainedObjects()
    {
        Widget retained;
        Widget outstanding;
        PoolLease<Widget> stillOut;
        using (var provider = new ServiceCollection().AddGuardedObjectPool<Widget>().BuildServiceProvider())
        {
            var pool = provider.GetRequiredService<GuardedObjectPool<Widget>>();
            stillOut = pool.Rent();
            outstanding = stillOut.Value;
            using (var lease = pool.Rent())
            {
                retained = lease.Value;
            }

            Assert.False(retained.IsDisposed);
        }

        Assert.True(retained.IsDisposed); // was never disposed: the guard hid the inner DisposableObjectPool
        Assert.False(outstanding.IsDisposed);
        stillOut.Dispose();
        Assert.True(outstanding.IsDisposed); // comes back to a disposed pool
    }

    [Fact]
    public void AddGuardedObjectPool_WithAPolicy_CreatesThroughIt()
    {
        var policy = new CountingPolicy();
        using var provider = new ServiceCollection()
            .AddGuardedObjectPool(policy, o => o.MaxListenersPerEvent = 3)
            .BuildServiceProvider();
        var pool = provider.GetRequiredService<GuardedObjectPool<Widget>>();

        using (var lease = pool.Rent())
        {
            Assert.Same(policy.Last, lease.Value);
        }

        Assert.Same(pool, provider.GetRequiredService<ObjectPool<Widget>>());
        Assert.Equal((1, 1), (policy.Created, policy.Returned));
        Assert.Throws<ArgumentNullException>(() => new ServiceCollection().AddGuardedObjectPool<Widget>((IPooledObjectPolicy<Widget>)null!));
    }

    [Fact]
    public void Dispose_OverTheCallersInnerPool_LeavesItAlone_RentThrows()
    {
        var inner = new DefaultObjectPoolProvider().Create(new DefaultPooledObjectPolicy<Widget>()); // disposable for IDisposable T
        var pool = new GuardedObjectPool<Widget>(inner);
        Widget widget;
        using (var lease = pool.Rent())
        {
            widget = lease.Value;
        }

        pool.Dispose();
        pool.Dispose(); // the second does nothing

        Assert.False(widget.IsDisposed);
        Assert.Same(widget, inner.Get());
        Assert.Throws<ObjectDisposedException>(() => pool.Rent());
        Assert.Throws<ObjectDisposedException>(() => pool.Get());
        ((IDisposable)inner).Dispose();
    }

    [Fact]
    public void CreateGuarded_Dispose_DisposesTheInnerPoolItCreated()
    {
        var pool = new DefaultObjectPoolProvider().CreateGuarded(new DefaultPooledObjectPolicy<Widget>());
        Widget widget;
        using (var lease = pool.Rent())
        {
            widget = lease.Value;
        }

        pool.Dispose();

        Assert.True(widget.IsDisposed);
    }

    private sealed class CountingPolicy : PooledObjectPolicy<Widget>
    {
        public int Created { get; private set; }

        public int Returned { get; private set; }

        public Widget? Last { get; private set; }

        public override Widget Create()
        {
            Created++;
            return Last = new Widget();
        }

        public override bool Return(Widget obj)
        {
            Returned++;
            return true;
        }
    }

    // Ends a lease on another thread while a callback registered on a token (tracked by the lease, or not) runs and
    // uses the object; returns whether the object went back to the inner pool while that callback still ran.
    private static async Task<bool> ReturnedWhileTokenCallbackRunsAsync(bool track)
    {
        var bound = TimeSpan.FromSeconds(30);
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        using var disposeStarted = new ManualResetEventSlim();
        using var source = new CancellationTokenSource();
        var running = new StrongBox<int>();
        var returnedWhileRunning = new StrongBox<bool>();
        var pool = new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(
            new CheckingReturnPolicy(() => returnedWhileRunning.Value |= Volatile.Read(ref running.Value) != 0), maximumRetained: 1));
        var lease = pool.Rent();
        var widget = lease.Value;
        var registration = source.Token.Register(() =>
        {
            Volatile.Write(ref running.Value, 1);
            entered.Set();
            release.Wait(bound);
            widget.RaiseChanged(); // still using the object
            Volatile.Write(ref running.Value, 0);
        });
        if (track)
        {
            lease.Track(new ActionDisposable(() =>
            {
                disposeStarted.Set();
                registration.Dispose();
            }));
        }

        var cancelling = Task.Run(source.Cancel);
        Assert.True(entered.Wait(bound));
        var disposing = Task.Run(lease.Dispose);
        if (track)
        {
            // Blocked in the registration's Dispose until the callback returns.
            Assert.True(disposeStarted.Wait(bound));
        }
        else
        {
            await disposing.WaitAsync(bound);
        }

        release.Set();
        await Task.WhenAll(cancelling, disposing).WaitAsync(bound);
        registration.Dispose();
        Assert.Equal(1L, pool.Statistics.Returned);
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
        return returnedWhileRunning.Value;
    }

    /// <summary>An event source that raises under its own lock and takes it in its accessors.</summary>
    public sealed class LockingSource
    {
        private readonly Lock _sync = new();
        private EventHandler? _changed;

        public int Count
        {
            get
            {
                lock (_sync)
                {
                    return _changed?.GetInvocationList().Length ?? 0;
                }
            }
        }

        public void Add(EventHandler h)
        {
            lock (_sync)
            {
                _changed += h;
            }
        }

        public void Remove(EventHandler h)
        {
            lock (_sync)
            {
                _changed -= h;
            }
        }

        public void Raise()
        {
            lock (_sync)
            {
                _changed?.Invoke(this, EventArgs.Empty);
            }
        }
    }

    private sealed class ActionDisposable(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    // Runs a check each time an object is returned.
    private sealed class CheckingReturnPolicy(Action check) : PooledObjectPolicy<Widget>
    {
        public override Widget Create() => new();

        public override bool Return(Widget obj)
        {
            check();
            return true;
        }
    }
}
