using SafeRefs.Events;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

/// <summary><see cref="WeakEventOptions.ExceptionHandler"/>: observes each handler's exception and can mark it handled.</summary>
public sealed class WeakEventExceptionHandlerTests
{
    [Fact]
    public void WeakEvent_HandledException_RaiseGoesOnAndDoesNotThrow()
    {
        var seen = new List<Exception>();
        var source = new WeakEvent<int>(new WeakEventOptions { ExceptionHandler = ex => { seen.Add(ex); return true; } });
        var log = new Recorder();
        source.Add(Recorder.Throw);
        source.Add(log.On);
        source.Add(Recorder.Throw);
        source.Add(log.On);

        source.Raise(null, 7);

        Assert.Equal(["7", "7"], log.Seen);
        Assert.Equal(2, seen.Count);
        Assert.All(seen, static ex => Assert.Equal("boom 7", ex.Message));
        GC.KeepAlive(log);
    }

    // The one-handler fast path must not skip the handler either.
    [Fact]
    public void WeakEvent_SingleThrowingHandler_IsOfferedToTheExceptionHandler()
    {
        var seen = 0;
        var source = new WeakEvent<int>(new WeakEventOptions { ExceptionHandler = _ => ++seen > 0 });
        var recorder = new Recorder();
        source.Add(recorder.ThrowFromInstance); // a weak target: the path a lone handler takes without options
        source.Raise(null, 1);
        Assert.Equal(1, seen);
        GC.KeepAlive(recorder);
    }

    [Fact]
    public void WeakEvent_NotHandled_Propagate_StopsAtThatHandler()
    {
        var offered = new List<string>();
        var source = new WeakEvent<int>(new WeakEventOptions
        {
            // Handles only "first": the second failure is left to ExceptionMode (Propagate).
            ExceptionHandler = ex => { offered.Add(ex.Message); return ex.Message == "first"; },
        });
        var log = new Recorder();
        using var first = source.Subscribe(log, static (_, _, _) => throw new InvalidOperationException("first"));
        using var second = source.Subscribe(log, static (_, _, _) => throw new InvalidOperationException("second"));
        source.Add(log.On);

        var thrown = Assert.Throws<InvalidOperationException>(() => source.Raise(null, 3));
        Assert.Equal("second", thrown.Message);
        Assert.Equal(["first", "second"], offered);
        Assert.Empty(log.Seen);
    }

    [Fact]
    public void WeakEvent_NotHandled_ContinueAndAggregate_AggregatesOnlyUnhandled()
    {
        var source = new WeakEvent<int>(new WeakEventOptions
        {
            ExceptionMode = HandlerExceptionMode.ContinueAndAggregate,
            ExceptionHandler = static ex => ex is InvalidOperationException,
        });
        var log = new Recorder();
        source.Add(Recorder.Throw);
        source.Add(Recorder.ThrowArgument);
        source.Add(log.On);

        var aggregate = Assert.Throws<AggregateException>(() => source.Raise(null, 5));
        Assert.IsType<ArgumentException>(Assert.Single(aggregate.InnerExceptions));
        Assert.Equal(["5"], log.Seen);
        GC.KeepAlive(log);
    }

    [Fact]
    public void WeakEvent_ExceptionHandlerThrows_ItsExceptionPropagates()
    {
        var source = new WeakEvent<int>(new WeakEventOptions { ExceptionHandler = static _ => throw new NotSupportedException("handler") });
        source.Add(Recorder.Throw);
        var thrown = Assert.Throws<NotSupportedException>(() => source.Raise(null, 1));
        Assert.Equal("handler", thrown.Message);
    }

    [Fact]
    public void WeakDelegateEvent_HandledException_RaiseGoesOn()
    {
        var seen = new List<Exception>();
        var source = new WeakDelegateEvent<EventHandler>(new WeakEventOptions { ExceptionHandler = ex => { seen.Add(ex); return true; } });
        var log = new Recorder();
        source.Add(Recorder.ThrowPlain);
        source.Add(log.OnPlain);

        source.Raise(null, EventArgs.Empty);

        Assert.Equal(["plain"], log.Seen);
        Assert.Equal("plain boom", Assert.Single(seen).Message);
        GC.KeepAlive(log);
    }

    [Fact]
    public void WeakDelegateEvent_NotHandled_Propagates()
    {
        var source = new WeakDelegateEvent<EventHandler>(new WeakEventOptions { ExceptionHandler = static _ => false });
        var log = new Recorder();
        source.Add(Recorder.ThrowPlain);
        source.Add(log.OnPlain);
        Assert.Throws<InvalidOperationException>(() => source.Raise(null, EventArgs.Empty));
        Assert.Empty(log.Seen);
        GC.KeepAlive(log);
    }

    [Fact]
    public async Task AsyncWeakEvent_HandledFailure_RaiseGoesOn()
    {
        var seen = new List<Exception>();
        var source = new AsyncWeakEvent<int>(new WeakEventOptions { ExceptionHandler = ex => { seen.Add(ex); return true; } });
        var log = new Recorder();
        using var failing = source.Subscribe(log, static async (_, _, e, _) =>
        {
            await Task.Yield();
            throw new InvalidOperationException($"async {e}");
        });
        using var throwing = source.Subscribe(log, static (_, _, e, _) => throw new InvalidOperationException($"sync {e}"));
        using var ok = source.Subscribe(log, static (o, _, e, _) =>
        {
            o.Seen.Add($"{e}");
            return default;
        });

        await source.RaiseAsync(null, 2);

        Assert.Equal(["2"], log.Seen);
        Assert.Equal(["async 2", "sync 2"], seen.Select(static e => e.Message));
    }

    [Fact]
    public async Task AsyncWeakEvent_NotHandled_Propagates_AndCancellationIsNotOffered()
    {
        var offered = 0;
        var source = new AsyncWeakEvent<int>(new WeakEventOptions { ExceptionHandler = _ => ++offered < 0 });
        var log = new Recorder();
        using var cts = new CancellationTokenSource();
        using var cancelling = source.Subscribe(cts, static async (c, _, _, token) =>
        {
            await c.CancelAsync();
            token.ThrowIfCancellationRequested();
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => source.RaiseAsync(null, 1, cts.Token).Bounded());
        Assert.Equal(0, offered);

        var plain = new AsyncWeakEvent<int>(new WeakEventOptions { ExceptionHandler = _ => ++offered < 0 });
        using var failing = plain.Subscribe(log, static (_, _, _, _) => throw new InvalidOperationException("unhandled"));
        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => plain.RaiseAsync(null, 1).Bounded());
        Assert.Equal("unhandled", thrown.Message);
        Assert.Equal(1, offered);
        GC.KeepAlive(cts);
    }

    private sealed class Recorder
    {
        public List<string> Seen { get; } = [];

        public static void Throw(object? sender, int e) => throw new InvalidOperationException($"boom {e}");

        public static void ThrowArgument(object? sender, int e) => throw new ArgumentException($"bad {e}");

        public static void ThrowPlain(object? sender, EventArgs e) => throw new InvalidOperationException("plain boom");

        public void On(object? sender, int e) => Seen.Add($"{e}");

        public void ThrowFromInstance(object? sender, int e) => throw new InvalidOperationException($"instance {e}, seen {Seen.Count}");

        public void OnPlain(object? sender, EventArgs e) => Seen.Add("plain");
    }
}
