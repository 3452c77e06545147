using SafeRefs.Events;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

public sealed class AsyncWeakEventTests
{
    [Fact]
    public void Subscribe_Null_Throws()
    {
        var source = new AsyncWeakEvent<int>();
        Assert.Throws<ArgumentNullException>(() => source.Subscribe<object>(null!, static (_, _, _, _) => default));
        Assert.Throws<ArgumentNullException>(() => source.Subscribe<object>(new object(), null!));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Subscribe_DisposeAsyncInsideItsOwnHandlerAfterAnAwait_FaultsAtOnce(bool disposeFirst)
    {
        // The token waits for the handler's whole task, so a wait for it inside that task would never end.
        var source = new AsyncWeakEvent<int>();
        var owner = new object();
        var inside = new TaskCompletionSource<(bool Completed, Task Disposing)>(TaskCreationOptions.RunContinuationsAsynchronously);
        Subscription? token = null;
        token = source.Subscribe(owner, async (_, _, _, _) =>
        {
            await Task.Yield(); // resumes on a thread-pool thread
            if (disposeFirst)
            {
                token!.Dispose();
            }

            var disposing = token!.DisposeAsync();
            inside.SetResult((disposing.IsCompleted, disposing.AsTask()));
        });

        await source.RaiseAsync(null, 1).AsTask().Bounded();
        var (completed, disposing) = await inside.Task.Bounded();

        Assert.True(completed, "DisposeAsync inside the token's own handler was pending: awaiting it there would hang");
        await Assert.ThrowsAsync<InvalidOperationException>(() => disposing.Bounded());
        Assert.False(token.IsActive);
        await token.DisposeAsync().AsTask().Bounded(); // from outside, once the handler returned, it completes
        GC.KeepAlive(owner);
    }

    // DisposeAsync waits for an async handler's task, not only for its synchronous
    // part: the handler is past its first await when the token is disposed. An invocation ended before the await
    // (EndInvoke moved up in RaiseCoreAsync) would let DisposeAsync complete at once.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Subscribe_HandlerPastItsFirstAwait_DisposeAsyncWaitsForItsTask(bool disposeFirst)
    {
        var bound = TimeSpan.FromSeconds(30);
        var source = new AsyncWeakEvent<int>();
        var owner = new object();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var token = source.Subscribe(owner, async (_, _, _, _) =>
        {
            await Task.Yield();
            entered.TrySetResult();
            await release.Task.ConfigureAwait(false);
        });
        var raising = source.RaiseAsync(null, 1).AsTask();
        await entered.Task.WaitAsync(bound);
        if (disposeFirst)
        {
            token.Dispose();
        }

        var disposing = token.DisposeAsync().AsTask();
        Assert.False(disposing.IsCompleted, "DisposeAsync completed while the async handler was still awaiting");
        release.SetResult();
        await disposing.WaitAsync(bound);
        await raising.WaitAsync(bound);
        GC.KeepAlive(owner);
    }

    [Fact]
    public async Task RaiseAsync_RunsHandlersInOrderOneAfterAnother()
    {
        var source = new AsyncWeakEvent<int>();
        var owner = new Log();
        var firstGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var a = source.Subscribe(owner, async (o, _, e, _) =>
        {
            o.Add($"a-start:{e}");
            await firstGate.Task;
            o.Add($"a-end:{e}");
        });
        using var b = source.Subscribe(owner, static (o, _, e, _) =>
        {
            o.Add($"b:{e}");
            return default;
        });

        var raise = source.RaiseAsync(null, 1).AsTask();
        Assert.Equal(["a-start:1"], owner.Entries);
        Assert.False(raise.IsCompleted);
        firstGate.SetResult();
        await raise.Bounded();
        Assert.Equal(["a-start:1", "a-end:1", "b:1"], owner.Entries);
    }

    [Fact]
    public async Task RaiseAsync_CancelledBefore_RunsNothing()
    {
        var source = new AsyncWeakEvent<int>();
        var owner = new Log();
        using var token = source.Subscribe(owner, static (o, _, _, _) =>
        {
            o.Add("ran");
            return default;
        });
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => source.RaiseAsync(null, 1, cts.Token).Bounded());
        Assert.Empty(owner.Entries);
    }

    [Fact]
    public async Task RaiseAsync_CancelledByAHandler_LaterHandlersDoNotRunAndTokenIsPassed()
    {
        var source = new AsyncWeakEvent<int>();
        var owner = new Log();
        using var cts = new CancellationTokenSource();
        using var a = source.Subscribe(owner, (o, _, _, ct) =>
        {
            o.Add(ct == cts.Token ? "token" : "other");
            cts.Cancel();
            return default;
        });
        using var b = source.Subscribe(owner, static (o, _, _, _) =>
        {
            o.Add("b");
            return default;
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => source.RaiseAsync(null, 1, cts.Token).Bounded());
        Assert.Equal(["token"], owner.Entries);
    }

    [Fact]
    public async Task RaiseAsync_Propagate_FirstFailureStops()
    {
        var source = new AsyncWeakEvent<int>();
        var owner = new Log();
        using var a = source.Subscribe(owner, static async (_, _, _, _) =>
        {
            await Task.Yield();
            throw new InvalidOperationException("async boom");
        });
        using var b = source.Subscribe(owner, static (o, _, _, _) =>
        {
            o.Add("b");
            return default;
        });
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => source.RaiseAsync(null, 1).Bounded());
        Assert.Equal("async boom", ex.Message);
        Assert.Empty(owner.Entries);
    }

    [Fact]
    public async Task RaiseAsync_ContinueAndAggregate_RunsAllAndAggregates()
    {
        var source = new AsyncWeakEvent<int>(new WeakEventOptions { ExceptionMode = HandlerExceptionMode.ContinueAndAggregate });
        var owner = new Log();
        using var a = source.Subscribe(owner, static (_, _, _, _) => throw new InvalidOperationException("sync"));
        using var b = source.Subscribe(owner, static (o, _, _, _) =>
        {
            o.Add("b");
            return default;
        });
        using var c = source.Subscribe(owner, static async (_, _, _, _) =>
        {
            await Task.Yield();
            throw new InvalidOperationException("async");
        });
        var ex = await Assert.ThrowsAsync<AggregateException>(() => source.RaiseAsync(null, 1).Bounded());
        Assert.Equal(["sync", "async"], ex.InnerExceptions.Select(e => e.Message));
        Assert.Equal(["b"], owner.Entries);
    }

    // L10: a cancellation after a handler failed does not drop the failure: it is aggregated with the cancellation.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RaiseAsync_ContinueAndAggregate_CancelledAfterAFailure_AggregatesBoth(bool cancellingHandlerThrows)
    {
        var source = new AsyncWeakEvent<int>(new WeakEventOptions { ExceptionMode = HandlerExceptionMode.ContinueAndAggregate });
        var owner = new Log();
        using var cts = new CancellationTokenSource();
        using var a = source.Subscribe(owner, static (_, _, _, _) => throw new InvalidOperationException("failed"));
        using var b = source.Subscribe(owner, (o, _, _, ct) =>
        {
            o.Add("b");
            cts.Cancel();
            if (cancellingHandlerThrows)
            {
                ct.ThrowIfCancellationRequested();
            }

            return default;
        });
        using var c = source.Subscribe(owner, static (o, _, _, _) =>
        {
            o.Add("c");
            return default;
        });

        var ex = await Assert.ThrowsAsync<AggregateException>(() => source.RaiseAsync(null, 1, cts.Token).Bounded());
        Assert.Equal(2, ex.InnerExceptions.Count);
        Assert.Equal("failed", Assert.IsType<InvalidOperationException>(ex.InnerExceptions[0]).Message);
        Assert.Equal(cts.Token, Assert.IsAssignableFrom<OperationCanceledException>(ex.InnerExceptions[1]).CancellationToken);
        Assert.Equal(["b"], owner.Entries);
    }

    // Control for the test above: without an earlier failure, a cancelled raise is still plainly cancelled.
    [Fact]
    public async Task RaiseAsync_ContinueAndAggregate_CancelledWithoutAFailure_ThrowsCancellation()
    {
        var source = new AsyncWeakEvent<int>(new WeakEventOptions { ExceptionMode = HandlerExceptionMode.ContinueAndAggregate });
        var owner = new Log();
        using var cts = new CancellationTokenSource();
        using var a = source.Subscribe(owner, (o, _, _, _) =>
        {
            o.Add("a");
            cts.Cancel();
            return default;
        });
        using var b = source.Subscribe(owner, static (o, _, _, _) =>
        {
            o.Add("b");
            return default;
        });

        var task = source.RaiseAsync(null, 1, cts.Token).AsTask();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.Bounded());
        Assert.True(task.IsCanceled);
        Assert.Equal(["a"], owner.Entries);
    }

    [Fact]
    public async Task Dispose_StopsHandler_CountFollows()
    {
        var source = new AsyncWeakEvent<int>();
        var owner = new Log();
        var token = source.Subscribe(owner, static (o, _, _, _) =>
        {
            o.Add("ran");
            return default;
        });
        Assert.Equal(1, source.Count);
        await token.DisposeAsync().Bounded();
        await source.RaiseAsync(null, 1);
        Assert.Empty(owner.Entries);
        Assert.Equal(0, source.Count);
    }

    // One rule for every kind of entry: a handler removed (Add) or disposed (Subscribe) while an earlier handler of the
    // raise is awaited does not run when the raise reaches it. Control: not removed, it runs.
    [Theory]
    [InlineData("static", true)]
    [InlineData("weak target", true)]
    [InlineData("owner", true)]
    [InlineData("static", false)]
    [InlineData("weak target", false)]
    [InlineData("owner", false)]
    public async Task RaiseAsync_HandlerRemovedWhileAnEarlierOneAwaits_DoesNotRun(string kind, bool remove)
    {
        var source = new AsyncWeakEvent<int>();
        var log = new Log();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var first = source.Subscribe(release, async (r, _, _, _) =>
        {
            entered.SetResult();
            await r.Task;
        });
        Func<object?, int, CancellationToken, ValueTask> strong = static (sender, _, _) =>
        {
            ((Log)sender!).Add("second");
            return default;
        };
        Func<object?, int, CancellationToken, ValueTask> weak = log.OnSecondAsync;
        Subscription? token = null;
        switch (kind)
        {
            case "static": source.Add(strong); break;
            case "weak target": source.Add(weak); break;
            default: token = source.Subscribe(log, static (o, _, _, _) => o.OnSecondAsync(null, 0, default)); break;
        }

        var raising = source.RaiseAsync(log, 1).AsTask();
        await entered.Task.Bounded();
        if (remove)
        {
            source.Remove(kind == "static" ? strong : weak);
            token?.Dispose();
        }

        release.SetResult();
        await raising.Bounded();

        Assert.Equal(remove ? [] : ["second"], log.Entries);
        GC.KeepAlive(log);
    }

    private sealed class Log
    {
        private readonly List<string> _entries = [];

        public IReadOnlyList<string> Entries
        {
            get
            {
                lock (_entries)
                {
                    return [.. _entries];
                }
            }
        }

        public void Add(string entry)
        {
            lock (_entries)
            {
                _entries.Add(entry);
            }
        }

        public ValueTask OnSecondAsync(object? sender, int e, CancellationToken cancellationToken)
        {
            Add("second");
            return default;
        }
    }
}
