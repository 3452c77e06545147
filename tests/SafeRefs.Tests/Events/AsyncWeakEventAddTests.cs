using SafeRefs.Events;
using SafeRefs.Internal;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

/// <summary><see cref="AsyncWeakEvent{TArgs}.Add"/>/<see cref="AsyncWeakEvent{TArgs}.Remove"/>: backing an async <c>event</c>.</summary>
public sealed class AsyncWeakEventAddTests
{
    [Fact]
    public async Task EventAccessors_AddRaiseRemove_BehaveLikeAnEvent()
    {
        var repository = new Repository();
        var listener = new Listener();
        repository.Saved += listener.OnSavedAsync;
        repository.Saved += listener.OnSavedAsync;
        Assert.Equal(2, repository.ListenerCount);

        await repository.SaveAsync(4);
        Assert.Equal(["saved 4", "saved 4"], listener.Seen);

        repository.Saved -= listener.OnSavedAsync;
        await repository.SaveAsync(5);
        Assert.Equal(["saved 4", "saved 4", "saved 5"], listener.Seen);

        repository.Saved -= listener.OnSavedAsync;
        repository.Saved -= listener.OnSavedAsync; // absent: nothing
        await repository.SaveAsync(6);
        Assert.Equal(3, listener.Seen.Count);
        Assert.Equal(0, repository.ListenerCount);
        GC.KeepAlive(listener);
    }

    [Fact]
    public async Task Add_AwaitsHandlersInOrder_WithTheRaiseToken()
    {
        var source = new AsyncWeakEvent<int>();
        var listener = new Listener();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        listener.Gate = gate.Task;
        source.Add(listener.OnGatedAsync);
        source.Add(listener.OnSavedAsync);
        using var cts = new CancellationTokenSource();

        var raise = source.RaiseAsync(null, 1, cts.Token).AsTask();
        Assert.Equal(["gated 1"], listener.Seen);
        Assert.False(raise.IsCompleted);
        gate.SetResult();
        await raise.Bounded();
        Assert.Equal(["gated 1", "saved 1"], listener.Seen);
        Assert.Equal(cts.Token, listener.LastToken);
        GC.KeepAlive(listener);
    }

    [Fact]
    public void Null_AddAndRemove_DoNothing()
    {
        var source = new AsyncWeakEvent<int>();
        source.Add(null);
        source.Remove(null);
        Assert.Equal(0, source.Count);
    }

    [Fact]
    public void Add_CapturingLambda_ThrowsPointingToSubscribe_NothingAdded()
    {
        var source = new AsyncWeakEvent<int>();
        var listener = new Listener();
        var captured = 0;
        Func<object?, int, CancellationToken, ValueTask> capturing = (_, e, _) =>
        {
            captured += e;
            return default;
        };

        var thrown = Assert.Throws<ArgumentException>(() => source.Add(capturing));
        Assert.Contains("Subscribe", thrown.Message, StringComparison.Ordinal);
        Assert.Equal("handler", thrown.ParamName);

        // A multicast with a refused part adds none of its parts.
        Func<object?, int, CancellationToken, ValueTask> saved = listener.OnSavedAsync;
        Assert.Throws<ArgumentException>(() => source.Add(saved + capturing));
        Assert.Equal(0, source.Count);
        GC.KeepAlive(listener);
    }

    [Fact]
    public async Task Add_CapturingLambda_AllowedByPolicy_Runs()
    {
        var source = new AsyncWeakEvent<int>(new WeakEventOptions { CapturingLambdaWithoutOwner = ClosurePolicy.Allow });
        var captured = 0;
        Func<object?, int, CancellationToken, ValueTask> capturing = (_, e, _) =>
        {
            captured += e;
            return default;
        };
        source.Add(capturing);
        await source.RaiseAsync(null, 3);
        Assert.Equal(3, captured);
        GC.KeepAlive(capturing);
    }

    [Fact]
    public async Task Add_StaticHandler_HeldStrongly_RemovedByRemove()
    {
        var source = new AsyncWeakEvent<int>();
        Listener.StaticCalls = 0;
        source.Add(Listener.OnStaticAsync);
        await source.RaiseAsync(null, 1);
        source.Remove(Listener.OnStaticAsync);
        await source.RaiseAsync(null, 1);
        Assert.Equal(1, Listener.StaticCalls);
    }

    [Fact]
    public async Task Multicast_AddsInOrder_RemoveTakesTheLastRun()
    {
        var source = new AsyncWeakEvent<int>();
        var a = new Listener();
        var b = new Listener();
        var shared = new List<string>();
        a.Seen = shared;
        b.Seen = shared;
        a.Name = "a";
        b.Name = "b";
        Func<object?, int, CancellationToken, ValueTask> ab = a.OnNamedAsync;
        ab += b.OnNamedAsync;
        source.Add(ab);
        source.Add(a.OnNamedAsync);
        source.Add(ab);
        await source.RaiseAsync(null, 0);
        Assert.Equal(["a", "b", "a", "a", "b"], shared);

        shared.Clear();
        source.Remove(ab);
        await source.RaiseAsync(null, 0);
        Assert.Equal(["a", "b", "a"], shared);
        GC.KeepAlive(a);
        GC.KeepAlive(b);
    }

    private sealed class Repository
    {
        private readonly AsyncWeakEvent<int> _saved = new();

        public event Func<object?, int, CancellationToken, ValueTask>? Saved
        {
            add => _saved.Add(value);
            remove => _saved.Remove(value);
        }

        public int ListenerCount => _saved.Count;

        public ValueTask SaveAsync(int id) => _saved.RaiseAsync(this, id);
    }

    private sealed class Listener
    {
        public static int StaticCalls { get; set; }

        public List<string> Seen { get; set; } = [];

        public string Name { get; set; } = string.Empty;

        public Task Gate { get; set; } = Task.CompletedTask;

        public CancellationToken LastToken { get; private set; }

        public static ValueTask OnStaticAsync(object? sender, int e, CancellationToken cancellationToken)
        {
            StaticCalls++;
            return default;
        }

        public ValueTask OnSavedAsync(object? sender, int e, CancellationToken cancellationToken)
        {
            Seen.Add($"saved {e}");
            LastToken = cancellationToken;
            return default;
        }

        public async ValueTask OnGatedAsync(object? sender, int e, CancellationToken cancellationToken)
        {
            Seen.Add($"gated {e}");
            await Gate;
        }

        public ValueTask OnNamedAsync(object? sender, int e, CancellationToken cancellationToken)
        {
            Seen.Add(Name);
            return default;
        }
    }
}
