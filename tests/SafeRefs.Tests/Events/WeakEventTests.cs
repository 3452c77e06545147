using SafeRefs.Events;

namespace SafeRefs.Tests.Events;

public sealed class WeakEventTests
{
    private static int _staticCalls;

    [Fact]
    public void Add_Null_Throws()
    {
        var source = new WeakEvent<int>();
        Assert.Throws<ArgumentNullException>(() => source.Add(null!));
        Assert.Throws<ArgumentNullException>(() => source.Remove(null!));
        Assert.Throws<ArgumentNullException>(() => source.Subscribe<object>(null!, static (_, _, _) => { }));
        Assert.Throws<ArgumentNullException>(() => source.Subscribe<object>(new object(), null!));
    }

    [Fact]
    public void Options_UndefinedEnumValues_Throw_DefinedOnesAreKept()
    {
        var options = new WeakEventOptions();

        Assert.Throws<ArgumentOutOfRangeException>(() => options.CapturingLambdaWithoutOwner = (ClosurePolicy)2);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.ExceptionMode = (HandlerExceptionMode)(-1));
        Assert.Equal((ClosurePolicy.Throw, HandlerExceptionMode.Propagate), (options.CapturingLambdaWithoutOwner, options.ExceptionMode));

        options.CapturingLambdaWithoutOwner = ClosurePolicy.Allow;
        options.ExceptionMode = HandlerExceptionMode.ContinueAndAggregate;
        Assert.Equal((ClosurePolicy.Allow, HandlerExceptionMode.ContinueAndAggregate), (options.CapturingLambdaWithoutOwner, options.ExceptionMode));
    }

    [Fact]
    [System.Diagnostics.CodeAnalysis.SuppressMessage(
        "Reliability",
        "SR1002:Capturing lambda passed to WeakEvent.Add",
        Justification = "Deliberate: the test checks that WeakEvent.Add rejects the capturing lambda SR1002 warns about.")]
    public void Add_CapturingLambda_ThrowsPointingToSubscribe()
    {
        var source = new WeakEvent<int>();
        var calls = 0;
        var ex = Assert.Throws<ArgumentException>(() => source.Add((_, _) => calls++));
        Assert.Equal("handler", ex.ParamName);
        Assert.Contains("Subscribe(owner", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, source.Count);
    }

    [Fact]
    public void Add_CapturingLambdaWithAllowPolicy_IsAccepted()
    {
        var source = new WeakEvent<int>(new WeakEventOptions { CapturingLambdaWithoutOwner = ClosurePolicy.Allow });
        var calls = 0;
        EventHandler<int> handler = (_, _) => calls++;
        source.Add(handler);
        source.Raise(null, 1);
        GC.KeepAlive(handler);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void Add_StaticAndNonCapturingLambda_Fire()
    {
        var source = new WeakEvent<int>();
        _staticCalls = 0;
        source.Add(StaticHandler);
        source.Add(static (_, e) => _staticCalls += e);
        source.Raise(null, 10);
        Assert.Equal(11, _staticCalls);
        Assert.Equal(2, source.Count);
    }

    [Fact]
    public void Raise_InvokesHandlersInSubscriptionOrderAcrossModes()
    {
        var source = new WeakEvent<string>();
        var log = new List<string>();
        var a = new Recorder(log, "a");
        var owner = new Recorder(log, "owner");
        var b = new Recorder(log, "b");
        source.Add(a.On);
        using var token = source.Subscribe(owner, static (o, sender, e) => o.On(sender, e));
        source.Add(b.On);
        source.Raise(this, "x");
        Assert.Equal(["a:x", "owner:x", "b:x"], log);
        Assert.Equal(3, source.Count);
    }

    [Fact]
    public void Subscribe_CapturingHandler_ReceivesOwnerSenderArgs()
    {
        var source = new WeakEvent<int>();
        var owner = new object();
        var seen = new List<(object, object?, int)>();
        using var token = source.Subscribe(owner, (o, s, e) => seen.Add((o, s, e)));
        source.Raise("sender", 5);
        Assert.Equal([(owner, (object?)"sender", 5)], seen);
    }

    [Fact]
    public void SubscriptionDispose_StopsHandler_SecondDisposeDoesNothing()
    {
        var source = new WeakEvent<int>();
        var owner = new Counter();
        var token = source.Subscribe(owner, static (o, _, _) => o.Calls++);
        source.Raise(null, 0);
        token.Dispose();
        token.Dispose();
        source.Raise(null, 0);
        Assert.Equal(1, owner.Calls);
        Assert.Equal(0, source.Count);
        Assert.False(token.IsActive);
    }

    [Fact]
    public void Remove_RemovesLastOccurrence_LikeDelegateRemove()
    {
        var source = new WeakEvent<int>();
        var log = new List<string>();
        var a = new Recorder(log, "a");
        var b = new Recorder(log, "b");
        source.Add(a.OnInt);
        source.Add(b.OnInt);
        source.Add(a.OnInt);
        source.Remove(a.OnInt);
        source.Raise(null, 1);
        Assert.Equal(["a:1", "b:1"], log);
        source.Remove(new Recorder(log, "absent").OnInt);
        Assert.Equal(2, source.Count);
    }

    [Fact]
    public void AddRemove_Multicast_FollowsDelegateCombineAndRemove()
    {
        var source = new WeakEvent<int>();
        var log = new List<string>();
        var a = new Recorder(log, "a");
        var b = new Recorder(log, "b");
        EventHandler<int> ab = a.OnInt;
        ab += b.OnInt;
        source.Add(ab);
        source.Add(a.OnInt);
        source.Raise(null, 1);
        Assert.Equal(["a:1", "b:1", "a:1"], log);
        source.Remove(ab);
        log.Clear();
        source.Raise(null, 2);
        Assert.Equal(["a:2"], log);
    }

    // As Delegate.Remove, the last run a, b of the added handlers goes (not the trailing a); it is contiguous among
    // the added handlers only, and the subscriptions between its parts stay.
    [Fact]
    public void Remove_MulticastAroundSubscriptions_KeepsTheSubscriptions()
    {
        var source = new WeakEvent<int>();
        var log = new List<string>();
        var a = new Recorder(log, "a");
        var b = new Recorder(log, "b");
        var owner = new Recorder(log, "s");
        source.Add(a.OnInt);
        using var first = source.Subscribe(owner, static (o, sender, e) => o.OnInt(sender, e));
        source.Add(b.OnInt);
        using var second = source.Subscribe(owner, static (o, sender, e) => o.OnInt(sender, -e));
        source.Add(a.OnInt);
        EventHandler<int> ab = a.OnInt;
        ab += b.OnInt;

        source.Remove(ab);
        source.Raise(null, 1);

        Assert.Equal(["s:1", "s:-1", "a:1"], log);
        Assert.Equal(3, source.Count);
    }

    [Fact]
    public void Raise_Propagate_StopsAtFirstThrowingHandler_SourceStaysUsable()
    {
        var source = new WeakEvent<int>();
        var log = new List<string>();
        var a = new Recorder(log, "a");
        var b = new Recorder(log, "b");
        source.Add(a.OnInt);
        source.Add(Thrower);
        source.Add(b.OnInt);
        var ex = Assert.Throws<InvalidOperationException>(() => source.Raise(null, 1));
        Assert.Equal("boom", ex.Message);
        Assert.Equal(["a:1"], log);
        source.Remove(Thrower);
        source.Raise(null, 2);
        Assert.Equal(["a:1", "a:2", "b:2"], log);
    }

    [Fact]
    public void Raise_ContinueAndAggregate_RunsAllThenThrowsAggregate()
    {
        var source = new WeakEvent<int>(new WeakEventOptions { ExceptionMode = HandlerExceptionMode.ContinueAndAggregate });
        var log = new List<string>();
        var a = new Recorder(log, "a");
        source.Add(Thrower);
        source.Add(a.OnInt);
        source.Add(Thrower);
        var ex = Assert.Throws<AggregateException>(() => source.Raise(null, 1));
        Assert.Equal(2, ex.InnerExceptions.Count);
        Assert.Equal(["a:1"], log);
    }

    [Fact]
    public void Raise_OneHandlerOfEachKind_FiresThroughTheOneHandlerPath()
    {
        var log = new List<string>();
        var recorder = new Recorder(log, "add");
        var addMode = new WeakEvent<int>();
        addMode.Add(recorder.OnInt);
        var strong = new WeakEvent<int>();
        strong.Add(StaticHandler);
        var owned = new WeakEvent<int>();
        var owner = new Counter();
        using var token = owned.Subscribe(owner, static (o, _, _) => o.Calls++);
        var disposed = new WeakEvent<int>();
        disposed.Subscribe(owner, static (o, _, _) => o.Calls += 100).Dispose();
        var before = _staticCalls;

        addMode.Raise(null, 1);
        strong.Raise(null, 2);
        owned.Raise(null, 3);
        disposed.Raise(null, 4);

        Assert.Equal(["add:1"], log);
        Assert.Equal(before + 1, _staticCalls);
        Assert.Equal(1, owner.Calls);
    }

    [Fact]
    public void Raise_OneThrowingHandler_PropagatesUnwrapped_OrAggregatesByMode()
    {
        var thrower = new ThrowingTarget();
        var propagate = new WeakEvent<int>();
        propagate.Add(thrower.On);
        var aggregate = new WeakEvent<int>(new WeakEventOptions { ExceptionMode = HandlerExceptionMode.ContinueAndAggregate });
        aggregate.Add(thrower.On);

        Assert.Equal("target", Assert.Throws<InvalidOperationException>(() => propagate.Raise(null, 1)).Message);
        var ex = Assert.Throws<AggregateException>(() => aggregate.Raise(null, 1));
        Assert.Equal("target", Assert.Single(ex.InnerExceptions).Message);
        GC.KeepAlive(thrower);
    }

    [Fact]
    public void Raise_HandlerAddedDuringRaise_RunsFromNextRaise()
    {
        var source = new WeakEvent<int>();
        var log = new List<string>();
        var late = new Recorder(log, "late");
        var adder = new Adder(source, late);
        source.Add(adder.On);
        source.Raise(null, 1);
        Assert.Empty(log);
        source.Raise(null, 2);
        Assert.Equal(["late:2"], log);
    }

    [Fact]
    public void Raise_HandlerRemovedDuringRaise_StillRunsInThatRaise_LikeMulticast()
    {
        var source = new WeakEvent<int>();
        var log = new List<string>();
        var victim = new Recorder(log, "victim");
        var remover = new Remover(source, victim);
        source.Add(remover.On);
        source.Add(victim.OnInt);
        source.Raise(null, 1);
        Assert.Equal(["victim:1"], log);
        source.Raise(null, 2);
        Assert.Equal(["victim:1"], log);
    }

    [Fact]
    public void Raise_SubscriptionDisposedDuringRaise_LaterHandlerDoesNotStart()
    {
        var source = new WeakEvent<int>();
        var victim = new Counter();
        var holder = new TokenHolder();
        using var first = source.Subscribe(holder, static (h, _, _) => h.Token!.Dispose());
        holder.Token = source.Subscribe(victim, static (v, _, _) => v.Calls++);
        source.Raise(null, 1);
        Assert.Equal(0, victim.Calls);
    }

    [Fact]
    public void Dispose_ManyTokens_KeepsStoredEntriesWithinSlack()
    {
        var source = new WeakEvent<int>();
        var owner = new Counter();
        var tokens = new List<SafeRefs.Subscriptions.Subscription>();
        for (var i = 0; i < 100; i++)
        {
            tokens.Add(source.Subscribe(owner, static (o, _, _) => o.Calls++));
        }

        for (var i = 0; i < 90; i++)
        {
            tokens[i].Dispose();
            var live = 100 - i - 1;
            Assert.True(source.StoredCount <= live + Math.Max(4, source.StoredCount / 4), $"stored {source.StoredCount}, live {live}");
        }

        source.Raise(null, 0);
        Assert.Equal(10, owner.Calls);
        Assert.Equal(10, source.Count);
    }

    private static void StaticHandler(object? sender, int e) => _staticCalls++;

    private static void Thrower(object? sender, int e) => throw new InvalidOperationException("boom");

    private sealed class Recorder(List<string> log, string name)
    {
        public void On(object? sender, string e) => log.Add($"{name}:{e}");

        public void OnInt(object? sender, int e) => log.Add($"{name}:{e}");
    }

    private sealed class ThrowingTarget
    {
        private readonly string _message = "target";

        public void On(object? sender, int e) => throw new InvalidOperationException(_message);
    }

    private sealed class Counter
    {
        public int Calls { get; set; }
    }

    private sealed class TokenHolder
    {
        public SafeRefs.Subscriptions.Subscription? Token { get; set; }
    }

    private sealed class Adder(WeakEvent<int> source, Recorder late)
    {
        private bool _done;

        public void On(object? sender, int e)
        {
            if (!_done)
            {
                _done = true;
                source.Add(late.OnInt);
            }
        }
    }

    private sealed class Remover(WeakEvent<int> source, Recorder victim)
    {
        public void On(object? sender, int e) => source.Remove(victim.OnInt);
    }
}
