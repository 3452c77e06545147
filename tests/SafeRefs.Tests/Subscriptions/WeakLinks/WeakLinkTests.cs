using System.ComponentModel;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Testing;
using SafeRefs.Diagnostics;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Events;
using SafeRefs.Subscriptions;
using SafeRefs.Subscriptions.WeakLinks;
using SafeRefs.Testing;
using SafeRefs.Tests.Diagnostics;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions.WeakLinks;

[Collection(GcCollection.Name)]
public sealed class WeakLinkTests
{
    [Fact]
    public void Dispose_RemoveThrows_ThrowsToCaller_AndLinkLeavesRegistry()
    {
        var source = new FailingSource();
        var owner = new object();
        var token = SubscribeTo(source, owner);
        var link = (WeakLink)token;
        Assert.True(link.RegistryIndex >= 0);

        source.FailRemove = true;
        Assert.Throws<ObjectDisposedException>(token.Dispose);

        Assert.True(link.IsDetached);
        Assert.True(link.IsFreed);
        Assert.Equal(-1, link.RegistryIndex);
        token.Dispose();
        GC.KeepAlive(owner);
    }

    // The caller gets the remove's exception and it is also logged (1010, saying the caller gets it) and counted, as a
    // purge's or a raise's is.
    // A distinct event name keeps out the reports of other links a background purge may detach meanwhile.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Dispose_RemoveFailure_IsLoggedAndCountedThenRethrown_OnlyWhenRemoveThrows(bool failRemove)
    {
        var logger = new FakeLogger();
        var previous = SafeRefsLog.Logger;
        SafeRefsLog.Logger = logger;
        using var detachFailures = new MetricCollector<long>(null, "SafeRefs", "saferefs.subscription.detach.failures");
        try
        {
            var source = new FailingSource();
            var owner = new object();
            var token = Subscribe.WeakEvent<FailingSource, object, int>(
                source, static (s, h) => s.Changed += h, static (s, h) => s.Remove(h), owner, static (_, _, _) => { }, "DisposeRemoveThrows");
            source.FailRemove = failRemove;

            if (failRemove)
            {
                Assert.Throws<ObjectDisposedException>(token.Dispose);
            }
            else
            {
                token.Dispose();
            }

            Assert.True(((WeakLink)token).IsDetached);
            Assert.Equal(1, source.RemoveCalls);
            var logged = logger.Collector.GetSnapshot()
                .Where(static r => r.Id.Id == 1010 && r.Message.Contains("FailingSource.DisposeRemoveThrows", StringComparison.Ordinal))
                .ToList();
            var counted = detachFailures.GetMeasurementSnapshot()
                .Where(static m => Equals(m.Tags["saferefs.event.name"], "DisposeRemoveThrows"))
                .Sum(static m => m.Value);
            Assert.Equal(failRemove ? 1 : 0, logged.Count);
            Assert.All(logged, static r => Assert.IsType<ObjectDisposedException>(r.Exception));
            Assert.All(logged, static r => Assert.Contains("rethrown to the caller", r.Message, StringComparison.Ordinal));
            Assert.Equal(failRemove ? 1 : 0, counted);
            GC.KeepAlive(owner);
        }
        finally
        {
            SafeRefsLog.Logger = previous;
        }
    }

    // A purge detaches every dead link in the process: this test's own event name keeps out other tests' dead links.
    [Fact]
    public void Purge_RemoveThrows_IsLoggedCountedAndThePurgeGoesOn()
    {
        var logger = new FakeLogger();
        var previous = SafeRefsLog.Logger;
        SafeRefsLog.Logger = logger;
        using var detachFailures = new MetricCollector<long>(null, "SafeRefs", "saferefs.subscription.detach.failures");
        try
        {
            var failing = new FailingSource { FailRemove = true };
            var plain = new FailingSource();
            var tracker = new LeakTracker();
            var failingLink = SubscribeDroppedOwner(failing, tracker, "PurgeRemoveThrows");
            var plainLink = SubscribeDroppedOwner(plain, tracker, "PurgeRemoveThrows");
            tracker.AssertAllCollected();

            // A gen-2 purge on the thread pool may get there first: either way each link is detached once.
            _ = WeakLink.Registry.Purge(onOwnThread: false);
            Assert.True(SpinWait.SpinUntil(() => failingLink.IsFreed && plainLink.IsFreed, TimeSpan.FromSeconds(30)));

            Assert.True(failingLink.IsDetached && failingLink.IsFreed && failingLink.RegistryIndex == -1);
            Assert.True(plainLink.IsDetached && plainLink.IsFreed);
            Assert.Equal(0, plain.HandlerCount);
            var logged = Assert.Single(logger.Collector.GetSnapshot(), static r => r.Id.Id == 1010
                && r.Message.Contains("FailingSource.PurgeRemoveThrows", StringComparison.Ordinal));
            Assert.IsType<ObjectDisposedException>(logged.Exception);
            Assert.DoesNotContain("rethrown", logged.Message, StringComparison.Ordinal); // nobody gets it: dropped anyway
            var counted = detachFailures.GetMeasurementSnapshot()
                .Where(static m => Equals(m.Tags["saferefs.event.name"], "PurgeRemoveThrows"))
                .ToList();
            Assert.Equal(1, counted.Sum(static m => m.Value));
            Assert.All(counted, static m => Assert.EndsWith("FailingSource", (string?)m.Tags["saferefs.source.type"], StringComparison.Ordinal));
            GC.KeepAlive(failing);
            GC.KeepAlive(plain);
        }
        finally
        {
            SafeRefsLog.Logger = previous;
        }
    }

    [Fact]
    public void Purge_RemoveThrowsAndTheLoggerThrows_TheFailureIsStillCounted()
    {
        // The report counts before it logs: a throwing logger must not hide the failure from the metric. The test's own
        // event name keeps out other tests' dead links, which the purge detaches too.
        var previous = SafeRefsLog.Logger;
        SafeRefsLog.Logger = new ThrowingLogger();
        using var detachFailures = new MetricCollector<long>(null, "SafeRefs", "saferefs.subscription.detach.failures");
        try
        {
            var failing = new FailingSource { FailRemove = true };
            var tracker = new LeakTracker();
            var link = SubscribeDroppedOwner(failing, tracker, "PurgeRemoveAndLoggerThrow");
            tracker.AssertAllCollected();

            // A gen-2 purge on the thread pool may get there first: either way the link is detached once.
            _ = WeakLink.Registry.Purge(onOwnThread: false);
            Assert.True(SpinWait.SpinUntil(() => link.IsFreed, TimeSpan.FromSeconds(30)));

            var counted = detachFailures.GetMeasurementSnapshot()
                .Where(static m => Equals(m.Tags["saferefs.event.name"], "PurgeRemoveAndLoggerThrow"))
                .Sum(static m => m.Value);
            Assert.Equal(1, counted);
            GC.KeepAlive(failing);
        }
        finally
        {
            SafeRefsLog.Logger = previous;
        }
    }

    [Fact]
    public void Raise_OwnerDeadAndRemoveThrows_LaterSubscribersStillRun()
    {
        var source = new FailingSource { FailRemove = true };
        var tracker = new LeakTracker();
        var dead = SubscribeDroppedOwner(source, tracker);
        var owner = new Counter();
        var live = Subscribe.WeakEvent<FailingSource, Counter, int>(
            source, static (s, h) => s.Changed += h, static (s, h) => s.Remove(h), owner, static (o, _, _) => o.Calls++);
        tracker.AssertAllCollected();

        source.Raise();

        Assert.Equal(1, owner.Calls);

        // The gen-2 purge on the thread pool may have claimed the dead link first and still be detaching it.
        Assert.True(SpinWait.SpinUntil(() => dead.IsDetached && dead.IsFreed, TimeSpan.FromSeconds(30)));
        source.FailRemove = false;
        live.Dispose();
        Assert.Equal(0, source.HandlerCount);
    }

    // The dead link's source is thread-affine and no synchronization context was captured: neither the gen-2 purge on
    // the thread pool nor another thread's purge may detach it, so only a purge run by a Subscribe on this thread can.
    // Its remove throws: the Subscribe that ran the purge still returns its token, and the failure is logged with the
    // link's own event (a catch only around the whole purge would log "(purge)" instead).
    [Fact]
    public void SubscribingThreadPurge_AnotherLinksRemoveThrows_SubscribeStillReturnsItsToken()
    {
        var logger = new FakeLogger();
        var previous = SafeRefsLog.Logger;
        SafeRefsLog.Logger = logger;
        try
        {
            var failing = new FailingSource { FailRemove = true, IsThreadAffine = true };
            var tracker = new LeakTracker();
            var dead = SubscribeDroppedOwnerWithoutContext(failing, tracker, "SubscribingThreadPurgeRemoveThrows");
            tracker.AssertAllCollected();
            var source = new FailingSource();
            var owner = new object();

            // The purge runs every max(256, registered) registrations, whichever thread registers; the bound is generous
            // so that other tests' registrations cannot take every turn.
            var limit = (Math.Max(256, WeakLink.Registry.Count) + 10) * 100;
            for (var i = 0; i < limit && !dead.IsDetached; i++)
            {
                SubscribeTo(source, owner).Dispose();
            }

            Assert.True(dead.IsDetached, "no subscribing-thread purge ran");
            Assert.True(dead.IsFreed && dead.RegistryIndex == -1);
            Assert.Equal(1, failing.RemoveCalls);
            Assert.Equal(Environment.CurrentManagedThreadId, failing.RemoveThread);
            Assert.Contains(logger.Collector.GetSnapshot(), static r => r.Id.Id == 1010
                && r.Exception is ObjectDisposedException
                && r.Message.Contains("FailingSource.SubscribingThreadPurgeRemoveThrows", StringComparison.Ordinal));
            Assert.Equal(0, source.HandlerCount);
            GC.KeepAlive(failing);
            GC.KeepAlive(owner);
        }
        finally
        {
            SafeRefsLog.Logger = previous;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakLink SubscribeDroppedOwnerWithoutContext(FailingSource source, LeakTracker tracker, string eventName)
    {
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            return SubscribeDroppedOwner(source, tracker, eventName);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    // Decided per instance by the source's own type, or by its own answer when it gives one.
    [Fact]
    public void ThreadAffinity_UiStyleSourcesUnlessTheyAnswer()
    {
        Assert.False(WeakLink.IsSourceThreadAffine(new FailingSource()));
        Assert.True(WeakLink.IsSourceThreadAffine(new FailingSource { IsThreadAffine = true }));
        Assert.True(WeakLink.IsSourceThreadAffine(new Model()));
        Assert.False(WeakLink.IsSourceThreadAffine(new FreeThreadedModel()));
    }

    [Fact]
    public void ThreadAffineSource_DeadOwner_ThreadPoolPurgeLeavesIt_OwnThreadPurgeDetaches()
    {
        var model = new Model();
        var tracker = new LeakTracker();
        var link = (WeakLink)SubscribeDroppedOwnerToModel(model, tracker);
        tracker.AssertAllCollected();
        Assert.True(link.IsThreadAffine);

        WeakLink.Registry.Purge(onOwnThread: false);
        Assert.False(link.IsDetached);
        OnOtherThread(static () => WeakLink.Registry.Purge(onOwnThread: true));
        Assert.False(link.IsDetached);
        Assert.Equal(1, model.HandlerCount);

        WeakLink.Registry.Purge(onOwnThread: true);
        Assert.True(link.IsDetached);
        Assert.Equal(0, model.HandlerCount);
        GC.KeepAlive(model);
    }

    [Fact]
    public void ThreadAffineSource_OptedOut_ThreadPoolPurgeDetaches()
    {
        var model = new FreeThreadedModel();
        var tracker = new LeakTracker();
        var link = (WeakLink)SubscribeDroppedOwnerToModel(model, tracker);
        tracker.AssertAllCollected();
        Assert.False(link.IsThreadAffine);

        WeakLink.Registry.Purge(onOwnThread: false);

        // This purge or the one a gen-2 collection queued claimed the link; the claimer may still be removing it.
        Assert.True(link.IsDetached);
        Assert.True(SpinWait.SpinUntil(() => model.HandlerCount == 0, TimeSpan.FromSeconds(30)));
        GC.KeepAlive(model);
    }

    [Fact]
    public void ThreadAffineSource_WithContext_ThreadPoolPurgePostsTheDetachToIt()
    {
        var model = new Model();
        var context = new QueueingContext();
        var tracker = new LeakTracker();
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(context);
        WeakLink link;
        try
        {
            link = (WeakLink)SubscribeDroppedOwnerToModel(model, tracker);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }

        tracker.AssertAllCollected();
        OnOtherThread(static () => WeakLink.Registry.Purge(onOwnThread: false));

        // This purge or the one a gen-2 collection queued claimed the link; the claimer may still be posting its detach.
        Assert.True(SpinWait.SpinUntil(() => context.PostedCount > 0, TimeSpan.FromSeconds(30)));
        Assert.False(link.IsDetached);
        Assert.Equal(1, context.PostedCount);

        context.RunPosted();
        Assert.True(link.IsDetached);
        Assert.Equal(0, model.HandlerCount);
        GC.KeepAlive(model);
    }

    [Fact]
    public void OverlappingPurges_DetachEachDeadLinkExactlyOnce()
    {
        var source = new FailingSource();
        var tracker = new LeakTracker();
        var links = new List<WeakLink>();
        for (var i = 0; i < 200; i++)
        {
            links.Add(SubscribeDroppedOwner(source, tracker));
        }

        tracker.AssertAllCollected();
        using var barrier = new Barrier(3);
        var purges = Enumerable.Range(0, 3).Select(_ => new Thread(() =>
        {
            barrier.SignalAndWaitBounded();
            _ = WeakLink.Registry.Purge(onOwnThread: false);
        })).ToArray();
        Array.ForEach(purges, static t => t.Start());
        Array.ForEach(purges, static t => t.JoinBounded());

        Assert.True(SpinWait.SpinUntil(() => links.TrueForAll(static l => l.IsFreed), TimeSpan.FromSeconds(30)), "a gen-2 purge still detaching");
        Assert.All(links, static l => Assert.True(l.IsDetached && l.IsFreed && l.RegistryIndex == -1));
        Assert.Equal(200, source.RemoveCalls);
        Assert.Equal(0, source.HandlerCount);
        GC.KeepAlive(source);
    }

    [Fact]
    public void FreedLink_ForwarderStillHeldByAnOldInvocationList_DoesNothing()
    {
        var source = new FailingSource();
        var owner = new Counter();
        var token = Subscribe.WeakEvent<FailingSource, Counter, int>(
            source, static (s, h) => s.Changed += h, static (s, h) => s.Remove(h), owner, static (o, _, _) => o.Calls++);
        var stale = source.Snapshot!;
        token.Dispose();
        Assert.True(((WeakLink)token).IsFreed);

        stale(source, 1);

        Assert.Equal(0, owner.Calls);
    }

    [Fact]
    public void CapturingAccessors_AreRefusedWithTheStaticForm()
    {
        var source = new FailingSource();
        var owner = new object();
#pragma warning disable SR1010 // the capturing accessors are what the run-time check under test refuses
        var ex = Assert.Throws<ArgumentException>(() => Subscribe.WeakEvent<FailingSource, object, int>(
            source, static (s, h) => s.Changed += h, (_, h) => source.Remove(h), owner, static (_, _, _) => { }));
        Assert.Equal("remove", ex.ParamName);
        Assert.Contains("static (s, h) => s.Changed -= h", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Subscribe.WeakEvent<FailingSource, object, int>(
            source, (_, h) => source.Changed += h, static (s, h) => s.Remove(h), owner, static (_, _, _) => { }));
#pragma warning restore SR1010
        Assert.Equal("add", ex.ParamName);
        Assert.Equal(0, source.HandlerCount);
    }

    // The last accessor pair found safe is remembered: a pair that shares one of its delegates is still classified.
    [Fact]
    public void CapturingAccessor_AfterASafePairWasAccepted_IsStillRefused()
    {
        var source = new FailingSource();
        var owner = new object();
        Action<FailingSource, EventHandler<int>> add = SafeAdd;
        Action<FailingSource, EventHandler<int>> remove = SafeRemove;
        Subscribe.WeakEvent<FailingSource, object, int>(source, add, remove, owner, static (_, _, _) => { }).Dispose();

#pragma warning disable SR1010 // the capturing accessors are what the run-time check under test refuses
        var ex = Assert.Throws<ArgumentException>(() => Subscribe.WeakEvent<FailingSource, object, int>(
            source, add, (_, h) => source.Remove(h), owner, static (_, _, _) => { }));
        Assert.Equal("remove", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => Subscribe.WeakEvent<FailingSource, object, int>(
            source, (_, h) => source.Changed += h, remove, owner, static (_, _, _) => { }));
        Assert.Equal("add", ex.ParamName);
#pragma warning restore SR1010
        Subscribe.WeakEvent<FailingSource, object, int>(source, add, remove, owner, static (_, _, _) => { }).Dispose();
        Assert.Equal(0, source.HandlerCount);
    }

    // The compiler keeps a generic method's lambdas in that method's own generic singleton ("<>c__N`1"), not in "<>c":
    // non-capturing accessors written there are accepted like any other; a capturing one there is still refused.
    [Fact]
    public void StaticAccessors_InAGenericMethod_AreAccepted()
    {
        var source = new FailingSource();
        var owner = new Counter();
        var token = SubscribeInGenericMethod(source, owner, "unused");

        source.Snapshot!(source, 1);

        Assert.Equal(1, owner.Calls);
        token.Dispose();
        Assert.Equal(0, source.HandlerCount);
        GC.KeepAlive(owner);
    }

    [Fact]
    public void CapturingAccessor_InAGenericMethod_IsRefused()
    {
        var source = new FailingSource();
        var ex = Assert.Throws<ArgumentException>(() => SubscribeCapturingInGenericMethod(source, new Counter(), "unused"));

        Assert.Equal("add", ex.ParamName);
        Assert.Equal(0, source.HandlerCount);
    }

    [Fact]
    public void AddThrows_NothingStaysRegistered()
    {
        var source = new FailingSource { FailAdd = true };
        var owner = new object();
        var before = WeakLink.Registry.Count;
        for (var i = 0; i < 50; i++)
        {
            Assert.Throws<InvalidOperationException>(() => SubscribeTo(source, owner));
        }

        Assert.True(WeakLink.Registry.Count - before < 50, $"{WeakLink.Registry.Count - before} links stayed registered");
        GC.KeepAlive(owner);
    }

    [Fact]
    public async Task Dispose_DoesNotWaitForRunningHandler_DisposeAsyncDoes()
    {
        var source = new FailingSource();
        var owner = new object();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var token = Subscribe.WeakEvent<FailingSource, object, int>(
            source, static (s, h) => s.Changed += h, static (s, h) => s.Remove(h), owner, (_, _, _) =>
            {
                entered.Set();
                release.WaitBounded();
            });
        var raising = Task.Run(source.Raise);
        entered.WaitBounded();

        token.Dispose();
        var waiting = token.DisposeAsync().AsTask();
        Assert.False(waiting.IsCompleted);
        release.Set();
        await waiting.Bounded();
        await raising.Bounded();
        GC.KeepAlive(owner);
    }

    // The active-subscriptions metric counts a Subscribe.WeakEvent link from its attach to its detach (a dispose, or
    // the purge of a link whose owner died), read from the registry; WeakSubscriptions links are not counted. The total
    // is process-wide, and a background purge of another test's dead links moves it: a child reads exact values.
    [Fact]
    public void ActiveMetric_CountsWeakEventLinksUntilDetached_NotWeakSubscriptionsLinks()
    {
        var (exitCode, output) = ChildProcess.Run("weak-link-active-metric-until-detached", TimeSpan.FromSeconds(90));

        Assert.True(exitCode == 0, $"the child ended with {exitCode}: {output}");
        var lines = output.Split('\n', StringSplitOptions.TrimEntries);
        Assert.Contains("before 0", lines);
        Assert.Contains("weak and property links 1", lines);
        Assert.Contains("after dispose 0", lines);
        Assert.Contains("dropped owner 1", lines);
        Assert.Contains("purged True 0", lines);
    }

    /// <summary>The child of <see cref="ActiveMetric_CountsWeakEventLinksUntilDetached_NotWeakSubscriptionsLinks"/>.</summary>
    public static int ActiveMetricCountsWeakEventLinksUntilDetached()
    {
        _ = Metrics.SubscriptionInstruments.Active; // published before the collector looks for it
        using var active = MetricTotals.Collect("saferefs.subscription.active");
        var source = new FailingSource();
        var model = new Model();
        var owner = new object();
        Console.WriteLine($"before {Total(active)}");

        var weak = SubscribeTo(source, owner);
        var property = WeakSubscriptions.OnPropertyChanged(model, owner, static (_, _, _) => { });
        Console.WriteLine($"weak and property links {Total(active)}");
        weak.Dispose();
        property.Dispose();
        Console.WriteLine($"after dispose {Total(active)}");

        var tracker = new LeakTracker();
        var dead = SubscribeDroppedOwner(source, tracker);
        Console.WriteLine($"dropped owner {Total(active)}");
        tracker.AssertAllCollected();
        _ = WeakLink.Registry.Purge();
        var detached = SpinWait.SpinUntil(() => dead.RegistryIndex == -1, TimeSpan.FromSeconds(30));
        Console.WriteLine($"purged {detached} {Total(active)}");
        GC.KeepAlive(owner);
        return 0;
    }

    // A process whose only subscriptions are weak links publishes the metric too (a child: nothing else may touch it).
    [Fact]
    public void ActiveMetric_PublishedInAProcessWithWeakEventsOnly()
    {
        var (exitCode, output) = ChildProcess.Run("weak-event-only-active-metric", TimeSpan.FromSeconds(90));
        Assert.True(exitCode == 0, $"the child ended with {exitCode}: {output}");
        Assert.Contains("published True", output, StringComparison.Ordinal);
        Assert.Contains("active 1", output, StringComparison.Ordinal);
        Assert.Contains("after dispose 0", output, StringComparison.Ordinal);
    }

    /// <summary>The child of <see cref="ActiveMetric_PublishedInAProcessWithWeakEventsOnly"/>.</summary>
    public static int ActiveMetricWithWeakEventsOnly()
    {
        var published = false;
        long observed = -1;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "SafeRefs" && instrument.Name == "saferefs.subscription.active")
            {
                published = true;
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => observed = value);
        listener.Start();
        var source = new FailingSource();
        var owner = new object();

        var token = SubscribeTo(source, owner);
        listener.RecordObservableInstruments();
        Console.WriteLine($"published {published}");
        Console.WriteLine($"active {observed}");
        token.Dispose();
        listener.RecordObservableInstruments();
        Console.WriteLine($"after dispose {observed}");
        GC.KeepAlive(owner);
        return 0;
    }

    private static long Total(MetricCollector<long> collector)
    {
        collector.Clear();
        collector.RecordObservableInstruments();
        return collector.GetMeasurementSnapshot().Sum(static m => m.Value);
    }

    // The base SynchronizationContext posts to the thread pool: a thread-affine source subscribed under it is not
    // detached through it.
    [Fact]
    public void ThreadAffineSource_SubscribedUnderTheBaseSynchronizationContext_NeverDetachedFromTheThreadPool()
    {
        var model = new RemoveRecordingModel();
        var tracker = new LeakTracker();
        SubscribeDroppedOwnerUnderBaseContext(model, tracker);
        tracker.AssertAllCollected();

        OnOtherThread(static () => WeakLink.Registry.Purge(onOwnThread: false));
        var removed = SpinWait.SpinUntil(() => model.RemoveCalls > 0, TimeSpan.FromSeconds(5));

        Assert.False(removed && model.RemovedOnThreadPool, "the thread-affine source's remove ran on a thread-pool thread");
        Assert.Equal(0, model.RemoveCalls);
        GC.KeepAlive(model);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SubscribeDroppedOwnerUnderBaseContext(RemoveRecordingModel model, LeakTracker tracker)
    {
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(new SynchronizationContext());
        try
        {
            var owner = new object();
            tracker.Track(owner);
            _ = WeakSubscriptions.OnPropertyChanged(model, owner, static (_, _, _) => { });
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    private static void OnOtherThread(Action action)
    {
        var thread = new Thread(() => action());
        thread.Start();
        thread.JoinBounded();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Subscription SubscribeTo(FailingSource source, object owner, string eventName = "Changed") =>
        Subscribe.WeakEvent<FailingSource, object, int>(
            source, static (s, h) => s.Changed += h, static (s, h) => s.Remove(h), owner, static (_, _, _) => { }, eventName);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakLink SubscribeDroppedOwner(FailingSource source, LeakTracker tracker, string eventName = "Changed")
    {
        var owner = new object();
        tracker.Track(owner);
        return (WeakLink)SubscribeTo(source, owner, eventName);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Subscription SubscribeDroppedOwnerToModel(INotifyPropertyChanged model, LeakTracker tracker)
    {
        var owner = new object();
        tracker.Track(owner);

        // Without xunit's context, which would run the purge that the thread-pool purge posts to it.
        var previous = SynchronizationContext.Current;
        var context = previous is QueueingContext ? previous : null;
        SynchronizationContext.SetSynchronizationContext(context);
        try
        {
            return WeakSubscriptions.OnPropertyChanged(model, owner, static (_, _, _) => { });
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    private static Subscription SubscribeInGenericMethod<T>(FailingSource source, Counter owner, T unused) =>
        Subscribe.WeakEvent<FailingSource, Counter, int>(
            source, static (s, h) => s.Changed += h, static (s, h) => s.Remove(h), owner, static (o, _, _) => o.Calls++);

#pragma warning disable SR1010 // the capturing accessor is what the run-time check under test refuses
    private static Subscription SubscribeCapturingInGenericMethod<T>(FailingSource source, Counter owner, T unused) =>
        Subscribe.WeakEvent<FailingSource, Counter, int>(
            source, (_, h) => source.Changed += h, static (s, h) => s.Remove(h), owner, static (o, _, _) => o.Calls++);
#pragma warning restore SR1010

    internal sealed class FailingSource : IEventSourceAffinity
    {
        private readonly Lock _lock = new();
        private EventHandler<int>? _changed;

        public event EventHandler<int>? Changed
        {
            add => Add(value);
            remove => Remove(value);
        }

        public bool FailRemove { get; set; }

        public bool FailAdd { get; set; }

        public bool IsThreadAffine { get; init; }

        public int RemoveCalls { get; private set; }

        public int RemoveThread { get; private set; }

        public EventHandler<int>? Snapshot => _changed;

        public int HandlerCount => _changed?.GetInvocationList().Length ?? 0;

        public void Add(EventHandler<int>? handler)
        {
            lock (_lock)
            {
                _changed += handler;
                if (FailAdd)
                {
                    throw new InvalidOperationException("add failed");
                }
            }
        }

        public void Remove(EventHandler<int>? handler)
        {
            lock (_lock)
            {
                RemoveCalls++;
                RemoveThread = Environment.CurrentManagedThreadId;
                _changed -= handler;
                ObjectDisposedException.ThrowIf(FailRemove, this);
            }
        }

        public void Raise() => _changed?.Invoke(this, 1);
    }

    private sealed class Counter
    {
        public int Calls { get; set; }
    }

    private class Model : INotifyPropertyChanged
    {
        public event PropertyChangedEventHandler? PropertyChanged;

        public int HandlerCount => PropertyChanged?.GetInvocationList().Length ?? 0;

        public void Raise(string name) => PropertyChanged?.Invoke(this, new PropertyChangedEventArgs(name));
    }

    private sealed class RemoveRecordingModel : INotifyPropertyChanged
    {
        private int _removeCalls;
        private volatile bool _removedOnThreadPool;
        private PropertyChangedEventHandler? _changed;

        public int RemoveCalls => Volatile.Read(ref _removeCalls);

        public bool RemovedOnThreadPool => _removedOnThreadPool;

        public event PropertyChangedEventHandler? PropertyChanged
        {
            add => _changed += value;
            remove
            {
                _removedOnThreadPool |= Thread.CurrentThread.IsThreadPoolThread;
                Interlocked.Increment(ref _removeCalls);
                _changed -= value;
            }
        }
    }

    private sealed class FreeThreadedModel : Model, IEventSourceAffinity
    {
        public bool IsThreadAffine => false;
    }

    private sealed class QueueingContext : SynchronizationContext
    {
        public List<(SendOrPostCallback Callback, object? State)> Posted { get; } = [];

        public int PostedCount
        {
            get
            {
                lock (Posted)
                {
                    return Posted.Count;
                }
            }
        }

        public override void Post(SendOrPostCallback d, object? state)
        {
            lock (Posted)
            {
                Posted.Add((d, state));
            }
        }

        public void RunPosted()
        {
            foreach (var (callback, state) in Posted)
            {
                callback(state);
            }
        }
    }

    private static readonly Action<FailingSource, EventHandler<int>> SafeAdd = static (s, h) => s.Changed += h;

    private static readonly Action<FailingSource, EventHandler<int>> SafeRemove = static (s, h) => s.Remove(h);
}
