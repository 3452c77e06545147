using System.Collections.Specialized;
using System.ComponentModel;
using System.Windows.Input;
using Microsoft.Extensions.Primitives;
using SafeRefs.Events;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// <see cref="Subscription.DisposeAsync"/> waits for a callback that is running, for every kind of token that
/// <see cref="Subscribe"/>, <see cref="WeakSubscriptions"/> and the weak events' <c>Subscribe</c> return: as the first call, and after an earlier
/// <see cref="Subscription.Dispose"/> (which itself returned without waiting).
/// </summary>
public sealed class SubscriptionDisposeAsyncTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static readonly string[] Kinds =
    [
        "Event EventHandler",
        "Event EventHandler<T>",
        "Event EventHandler<T> with budget",
        "Event EventHandler with budget",
        "Event PropertyChangedEventHandler",
        "Event PropertyChangingEventHandler",
        "Event NotifyCollectionChangedEventHandler",
        "Event Action",
        "WeakEvent static handler",
        "WeakEvent capturing handler",
        "WeakEvent<T>.Subscribe",
        "WeakDelegateEvent.Subscribe",
        "AsyncWeakEvent.Subscribe",
        "WeakSubscriptions.OnPropertyChanged",
        "WeakSubscriptions.OnCollectionChanged",
        "WeakSubscriptions.OnCanExecuteChanged",
        "OnCancel",
        "OnChange",
        "Observe",
    ];

    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var kind in Kinds)
        {
            data.Add(kind, false);
            data.Add(kind, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DisposeAsync_WhileTheCallbackRuns_CompletesOnlyWhenItReturns(string kind, bool disposeFirst)
    {
        using var blocker = new Blocker();
        var (token, raise, keepAlive) = Start(kind, blocker);
        var raising = Task.Run(raise);
        Assert.True(blocker.Entered.Wait(Timeout), "the callback did not start");

        if (disposeFirst)
        {
            token.Dispose(); // returns while the callback is blocked: Dispose never waits for it
        }

        var disposing = token.DisposeAsync().AsTask();
        Assert.False(disposing.IsCompleted, "DisposeAsync completed while the callback was still running");
        Assert.False(token.IsActive);

        blocker.Release.Set();
        await disposing.WaitAsync(Timeout);
        await raising.WaitAsync(Timeout);
        Assert.Equal(1, blocker.Calls);
        GC.KeepAlive(keepAlive);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task DisposeAsync_NoCallbackRunning_CompletesAtOnce(string kind, bool disposeFirst)
    {
        using var blocker = new Blocker();
        var (token, _, keepAlive) = Start(kind, blocker);
        if (disposeFirst)
        {
            token.Dispose();
        }

        await token.DisposeAsync().AsTask().WaitAsync(Timeout);
        Assert.False(token.IsActive);
        Assert.Equal(0, blocker.Calls);
        GC.KeepAlive(keepAlive);
    }

    /// <summary>Subscribes <paramref name="blocker"/>'s callback; returns the token, what raises it, and what must stay alive.</summary>
    private static (Subscription Token, Action Raise, object KeepAlive) Start(string kind, Blocker blocker)
    {
        var source = new Source();
        switch (kind)
        {
            case "Event EventHandler":
                return (Subscribe.Event(source, static (s, h) => s.Plain += h, static (s, h) => s.Plain -= h, (EventHandler)((_, _) => blocker.Run())),
                    source.RaisePlain, source);
            case "Event EventHandler<T>":
                return (Subscribe.Event(source, static (s, h) => s.Generic += h, static (s, h) => s.Generic -= h, (EventHandler<int>)((_, _) => blocker.Run())),
                    source.RaiseGeneric, source);
            case "Event EventHandler<T> with budget":
                return (Subscribe.Event(source, static (s, h) => s.Generic += h, static (s, h) => s.Generic -= h, (EventHandler<int>)((_, _) => blocker.Run()), new ListenerBudget(maxListeners: 5)),
                    source.RaiseGeneric, source);
            case "Event EventHandler with budget":
                return (Subscribe.Event(source, static (s, h) => s.Plain += h, static (s, h) => s.Plain -= h, (EventHandler)((_, _) => blocker.Run()), new ListenerBudget(maxListeners: 5)),
                    source.RaisePlain, source);
            case "Event PropertyChangedEventHandler":
                return (Subscribe.Event(source, static (s, h) => s.PropertyChanged += h, static (s, h) => s.PropertyChanged -= h, (PropertyChangedEventHandler)((_, _) => blocker.Run())),
                    source.RaisePropertyChanged, source);
            case "Event PropertyChangingEventHandler":
                return (Subscribe.Event(source, static (s, h) => s.PropertyChanging += h, static (s, h) => s.PropertyChanging -= h, (PropertyChangingEventHandler)((_, _) => blocker.Run())),
                    source.RaisePropertyChanging, source);
            case "Event NotifyCollectionChangedEventHandler":
                return (Subscribe.Event(source, static (s, h) => s.CollectionChanged += h, static (s, h) => s.CollectionChanged -= h, (NotifyCollectionChangedEventHandler)((_, _) => blocker.Run())),
                    source.RaiseCollectionChanged, source);
            case "Event Action":
                return (Subscribe.Event(source, static (s, h) => s.Signalled += h, static (s, h) => s.Signalled -= h, (Action)blocker.Run),
                    source.RaiseSignalled, source);
            case "WeakEvent static handler":
                return (Subscribe.WeakEvent<Source, Blocker, int>(source, static (s, h) => s.Generic += h, static (s, h) => s.Generic -= h, blocker, static (b, _, _) => b.Run()),
                    source.RaiseGeneric, source);
            case "WeakEvent capturing handler":
                return (Subscribe.WeakEvent<Source, Blocker, int>(source, static (s, h) => s.Generic += h, static (s, h) => s.Generic -= h, blocker, (_, _, _) => blocker.Run()),
                    source.RaiseGeneric, source);
            case "WeakEvent<T>.Subscribe":
            {
                var weakEvent = new WeakEvent<int>();
                return (weakEvent.Subscribe(blocker, static (b, _, _) => b.Run()), () => weakEvent.Raise(null, 1), weakEvent);
            }

            case "WeakDelegateEvent.Subscribe":
            {
                var weakEvent = new WeakDelegateEvent<EventHandler>();
                return (weakEvent.Subscribe(blocker, (EventHandler)((_, _) => blocker.Run())),
                    () => weakEvent.Raise(0, static (handler, _) => handler(null, EventArgs.Empty)), weakEvent);
            }

            case "AsyncWeakEvent.Subscribe":
            {
                var weakEvent = new AsyncWeakEvent<int>();
                return (weakEvent.Subscribe(blocker, static (b, _, _, _) =>
                    {
                        b.Run();
                        return ValueTask.CompletedTask;
                    }),
                    () => weakEvent.RaiseAsync(null, 1).Bounded().GetAwaiter().GetResult(),
                    weakEvent);
            }

            case "WeakSubscriptions.OnPropertyChanged":
                return (WeakSubscriptions.OnPropertyChanged(source, blocker, static (b, _, _) => b.Run()), source.RaisePropertyChanged, source);
            case "WeakSubscriptions.OnCollectionChanged":
                return (WeakSubscriptions.OnCollectionChanged(source, blocker, static (b, _, _) => b.Run()), source.RaiseCollectionChanged, source);
            case "WeakSubscriptions.OnCanExecuteChanged":
                return (WeakSubscriptions.OnCanExecuteChanged(source, blocker, static (b, _, _) => b.Run()), source.RaiseCanExecuteChanged, source);
            case "OnCancel":
            {
                var cts = new CancellationTokenSource();
                return (Subscribe.OnCancel(cts.Token, static b => ((Blocker)b!).Run(), blocker), cts.Cancel, cts);
            }

            case "OnChange":
            {
                var changes = new ChangeSource();
                return (Subscribe.OnChange(changes.Current, blocker.Run), changes.Change, changes);
            }

            case "Observe":
            {
                var observable = new Observable();
                return (Subscribe.Observe(observable, new BlockingObserver(blocker)), observable.Publish, observable);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown token kind");
        }
    }

    /// <summary>The callback: counts, says it started, then waits for the test to let it return.</summary>
    public sealed class Blocker : IDisposable
    {
        private int _calls;

        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public int Calls => Volatile.Read(ref _calls);

        public void Run()
        {
            Interlocked.Increment(ref _calls);
            Entered.Set();
            Release.Wait(Timeout);
        }

        public void Dispose()
        {
            Entered.Dispose();
            Release.Dispose();
        }
    }

    /// <summary>One event of each shape the library forwards; the event fields are thread-safe for += and -=.</summary>
    public sealed class Source : INotifyPropertyChanged, INotifyPropertyChanging, INotifyCollectionChanged, ICommand
    {
        public event EventHandler? Plain;

        public event EventHandler<int>? Generic;

        public event PropertyChangedEventHandler? PropertyChanged;

        public event PropertyChangingEventHandler? PropertyChanging;

        public event NotifyCollectionChangedEventHandler? CollectionChanged;

        public event EventHandler? CanExecuteChanged;

        public event Action? Signalled;

        public void RaisePlain() => Plain?.Invoke(this, EventArgs.Empty);

        public void RaiseGeneric() => Generic?.Invoke(this, 1);

        public void RaisePropertyChanged() => PropertyChanged?.Invoke(this, new PropertyChangedEventArgs("X"));

        public void RaisePropertyChanging() => PropertyChanging?.Invoke(this, new PropertyChangingEventArgs("X"));

        public void RaiseCollectionChanged() => CollectionChanged?.Invoke(this, new NotifyCollectionChangedEventArgs(NotifyCollectionChangedAction.Reset));

        public void RaiseCanExecuteChanged() => CanExecuteChanged?.Invoke(this, EventArgs.Empty);

        public void RaiseSignalled() => Signalled?.Invoke();

        public bool CanExecute(object? parameter) => true;

        public void Execute(object? parameter)
        {
        }
    }

    /// <summary>A change-token producer: each change cancels the current token and makes a new one.</summary>
    private sealed class ChangeSource
    {
        private CancellationTokenSource _current = new();

        public CancellationChangeToken Current() => new(Volatile.Read(ref _current).Token);

        public void Change() => Interlocked.Exchange(ref _current, new CancellationTokenSource()).Cancel();
    }

    /// <summary>A thread-safe observable of one value per publish.</summary>
    private sealed class Observable : IObservable<int>
    {
        private readonly Lock _lock = new();
        private readonly List<IObserver<int>> _observers = [];

        public void Publish()
        {
            IObserver<int>[] observers;
            lock (_lock)
            {
                observers = [.. _observers];
            }

            foreach (var observer in observers)
            {
                observer.OnNext(1);
            }
        }

        public IDisposable Subscribe(IObserver<int> observer)
        {
            lock (_lock)
            {
                _observers.Add(observer);
            }

            return new Unsubscriber(this, observer);
        }

        private sealed class Unsubscriber(Observable observable, IObserver<int> observer) : IDisposable
        {
            public void Dispose()
            {
                lock (observable._lock)
                {
                    observable._observers.Remove(observer);
                }
            }
        }
    }

    private sealed class BlockingObserver(Blocker blocker) : IObserver<int>
    {
        public void OnCompleted()
        {
        }

        public void OnError(Exception error)
        {
        }

        public void OnNext(int value) => blocker.Run();
    }
}
