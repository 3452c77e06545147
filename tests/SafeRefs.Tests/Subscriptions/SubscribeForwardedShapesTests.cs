using System.Collections.Specialized;
using System.ComponentModel;
using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// Every delegate shape <c>Subscribe.Event</c> forwards keeps "no start after <c>Dispose</c>": a raiser that read the
/// event's delegate before <c>Dispose</c> (on another thread, stopped between its read and its call) does not start
/// the handler afterwards, and <c>DisposeAsync</c> waits for a handler that is running. Each shape has its own
/// forwarding method, so each is checked; each case calls the read delegate once before <c>Dispose</c> as its control.
/// </summary>
public sealed class SubscribeForwardedShapesTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("PropertyChanged")]
    [InlineData("PropertyChanging")]
    [InlineData("CollectionChanged")]
    [InlineData("Action")]
    [InlineData("ActionOfT")]
    [InlineData("ActionOfT1T2")]
    public void RaiserHadReadTheDelegate_HandlerDoesNotStartAfterDispose(string shape)
    {
        var source = new ShapesSource();
        var calls = 0;
        Subscription token;
        Action raiseRead;
        switch (shape)
        {
            case "PropertyChanged":
                token = Subscribe.Event(source, static (s, h) => s.PropertyChanged += h, static (s, h) => s.PropertyChanged -= h, (PropertyChangedEventHandler)((_, _) => calls++));
                var pc = source.ReadPropertyChanged();
                raiseRead = () => pc?.Invoke(source, new PropertyChangedEventArgs("X"));
                break;
            case "PropertyChanging":
                token = Subscribe.Event(source, static (s, h) => s.PropertyChanging += h, static (s, h) => s.PropertyChanging -= h, (PropertyChangingEventHandler)((_, _) => calls++));
                var pg = source.ReadPropertyChanging();
                raiseRead = () => pg?.Invoke(source, new PropertyChangingEventArgs("X"));
                break;
            case "CollectionChanged":
                token = Subscribe.Event(source, static (s, h) => s.CollectionChanged += h, static (s, h) => s.CollectionChanged -= h, (NotifyCollectionChangedEventHandler)((_, _) => calls++));
                var cc = source.ReadCollectionChanged();
                raiseRead = () => cc?.Invoke(source, new NotifyCollectionChangedEventArgs(NotifyCollectionChangedAction.Reset));
                break;
            case "Action":
                token = Subscribe.Event(source, static (s, h) => s.Signalled += h, static (s, h) => s.Signalled -= h, (Action)(() => calls++));
                var a = source.ReadSignalled();
                raiseRead = () => a?.Invoke();
                break;
            case "ActionOfT":
                token = Subscribe.Event(source, static (s, h) => s.Counted += h, static (s, h) => s.Counted -= h, (Action<int>)(_ => calls++));
                var a1 = source.ReadCounted();
                raiseRead = () => a1?.Invoke(1);
                break;
            default:
                token = Subscribe.Event(source, static (s, h) => s.Moved += h, static (s, h) => s.Moved -= h, (Action<int, string>)((_, _) => calls++));
                var a2 = source.ReadMoved();
                raiseRead = () => a2?.Invoke(1, "x");
                break;
        }

        raiseRead();
        Assert.Equal(1, calls);
        token.Dispose();
        raiseRead();
        Assert.Equal(1, calls);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ActionOfT_DisposeAsyncWhileTheHandlerRuns_Waits(bool disposeFirst)
    {
        var source = new ShapesSource();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var token = Subscribe.Event(source, static (s, h) => s.Counted += h, static (s, h) => s.Counted -= h, (Action<int>)(_ =>
        {
            entered.Set();
            release.Wait(Bound);
        }));
        await WaitsForTheRunningHandler(token, () => source.RaiseCounted(1), entered, release, disposeFirst);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ActionOfT1T2_DisposeAsyncWhileTheHandlerRuns_Waits(bool disposeFirst)
    {
        var source = new ShapesSource();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var token = Subscribe.Event(source, static (s, h) => s.Moved += h, static (s, h) => s.Moved -= h, (Action<int, string>)((_, _) =>
        {
            entered.Set();
            release.Wait(Bound);
        }));
        await WaitsForTheRunningHandler(token, () => source.RaiseMoved(1, "x"), entered, release, disposeFirst);
    }

    [Fact]
    public void ActionOfT_WithABudget_CountsAndGivesThePlaceBack()
    {
        var source = new ShapesSource();
        var budget = new ListenerBudget(maxListeners: 1) { OnExceeded = ListenerBudgetAction.Throw };
        var token = Subscribe.Event(source, static (s, h) => s.Counted += h, static (s, h) => s.Counted -= h, (Action<int>)(_ => { }), budget);
        Assert.Throws<ListenerLimitExceededException>(() =>
            Subscribe.Event(source, static (s, h) => s.Counted += h, static (s, h) => s.Counted -= h, (Action<int>)(_ => { }), budget));

        token.Dispose();
        Subscribe.Event(source, static (s, h) => s.Counted += h, static (s, h) => s.Counted -= h, (Action<int>)(_ => { }), budget).Dispose();
        Assert.Null(source.ReadCounted());
    }

    internal static async Task WaitsForTheRunningHandler(Subscription token, Action raise, ManualResetEventSlim entered, ManualResetEventSlim release, bool disposeFirst)
    {
        var raising = Task.Run(raise);
        Assert.True(entered.Wait(Bound));
        if (disposeFirst)
        {
            token.Dispose();
        }

        var disposing = token.DisposeAsync().AsTask();
        var completedEarly = disposing.IsCompleted;
        release.Set();
        await disposing.WaitAsync(Bound);
        await raising.WaitAsync(Bound);
        Assert.False(completedEarly, "DisposeAsync completed while the handler was still running");
    }

    private sealed class ShapesSource : INotifyPropertyChanged, INotifyPropertyChanging, INotifyCollectionChanged
    {
        public event PropertyChangedEventHandler? PropertyChanged;

        public event PropertyChangingEventHandler? PropertyChanging;

        public event NotifyCollectionChangedEventHandler? CollectionChanged;

        public event Action? Signalled;

        public event Action<int>? Counted;

        public event Action<int, string>? Moved;

        public PropertyChangedEventHandler? ReadPropertyChanged() => PropertyChanged;

        public PropertyChangingEventHandler? ReadPropertyChanging() => PropertyChanging;

        public NotifyCollectionChangedEventHandler? ReadCollectionChanged() => CollectionChanged;

        public Action? ReadSignalled() => Signalled;

        public Action<int>? ReadCounted() => Counted;

        public Action<int, string>? ReadMoved() => Moved;

        public void RaiseCounted(int value) => Counted?.Invoke(value);

        public void RaiseMoved(int value, string name) => Moved?.Invoke(value, name);
    }
}
