using System.ComponentModel;
using System.Runtime.CompilerServices;
using SafeRefs.Events;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Docs;

/// <summary>The examples of docs/events.md and the README's weak-event quick start, compiled and run.</summary>
[Collection(GcCollection.Name)]
public sealed class EventsDocs
{
    [Fact]
    public void Readme_QuickStart_Runs()
    {
        var label = new Label();
        var display = new Display();

        #region docs-readme-events
        var thermometer = new Thermometer();          // raises through a WeakEvent<double> (docs/events.md)
        thermometer.Changed += display.OnChanged;     // held weakly: display can be collected while subscribed
        using var subscription = thermometer.SubscribeChanged(label,   // lambda lives exactly as long as label
            static (l, _, celsius) => l.Text = $"{celsius} °C");
        thermometer.Report(21.5);
        #endregion

        Assert.Equal(21.5, display.Last);
        Assert.Equal("21.5 °C", label.Text);
    }

    [Fact]
    public void AddMode_ListenerCollected_StopsFiring()
    {
        var thermometer = new Thermometer();
        var display = GcAssert.Track(() => AttachDisplay(thermometer));
        GcAssert.Collected(display, "the thermometer holds its Changed handlers' targets weakly");
        thermometer.Report(1);
        Assert.Equal(0, thermometer.ListenerCount);
        GC.KeepAlive(thermometer);
    }

    [Fact]
    public void ClosureTrap_AddThrows_SubscribeWorks()
    {
        var thermometer = new Thermometer();
        var label = new Label();
        Assert.Throws<ArgumentException>(() =>
        {
            #region docs-events-closure-trap
            // Throws ArgumentException: nothing but the delegate references this closure, so it would be
            // collected at the next GC and the handler would silently stop firing.
            thermometer.Changed += (sender, celsius) => label.Text = $"{celsius} °C";
            #endregion
        });

        #region docs-events-closure-fix
        // Bind the handler to the object whose lifetime it should share: the lambda lives exactly as long as label.
        thermometer.SubscribeChanged(label, static (l, sender, celsius) => l.Text = $"{celsius} °C");
        #endregion

        thermometer.Report(3);
        Assert.Equal("3 °C", label.Text);
    }

    [Fact]
    public void PlainEventMigration_Unchanged_ForSubscribers()
    {
        var thermometer = new Thermometer();
        var display = new Display();
        #region docs-events-add
        thermometer.Changed += display.OnChanged;   // held weakly: display can be collected while subscribed
        thermometer.Report(20);
        thermometer.Changed -= display.OnChanged;   // still works, same rules as a multicast delegate
        #endregion
        Assert.Equal(20, display.Last);
    }

    [Fact]
    public async Task AsyncWeakEvent_Runs()
    {
        var cache = new Cache();
        #region docs-events-async
        var saved = new AsyncWeakEvent<string>();
        using var subscription = saved.Subscribe(cache, static async (c, sender, key, ct) =>
        {
            await Task.Yield();
            c.Invalidate(key);
        });

        await saved.RaiseAsync(null, "user:42");   // awaits each handler in turn
        #endregion
        Assert.Equal(["user:42"], cache.Invalidated);
    }

    [Fact]
    public void WeakSubscriptions_PropertyChanged_Runs()
    {
        var model = new Person();
        var view = new PersonView();
        #region docs-events-inpc
        // model lives longer than view: model keeps only a small forwarder alive, never view.
        var subscription = WeakSubscriptions.OnPropertyChanged(model, view,
            static (v, sender, e) => v.Refresh(e.PropertyName));
        model.Name = "Ada";
        subscription.Dispose();   // optional: detaches now instead of after view is collected
        #endregion
        Assert.Equal(["Name"], view.Refreshed);
    }

    [Fact]
    public void Options_Run()
    {
        var logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        #region docs-events-options
        var changed = new WeakEvent<EventArgs>(new WeakEventOptions
        {
            ExceptionMode = HandlerExceptionMode.ContinueAndAggregate,   // run every handler, then throw one AggregateException
            Budget = new ListenerBudget(maxListeners: 50, logger),        // warn once when a 51st listener is alive
            Name = "Changed",
        });
        #endregion
        Assert.Equal(0, changed.Count);
    }

    [Fact]
    public void ExceptionHandlerAndDeclaringType_Run()
    {
        var logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        #region docs-events-exception-handler
        var ticked = new WeakEvent<EventArgs>(new WeakEventOptions
        {
            ExceptionHandler = static ex => ex is TimeoutException,   // handled: the raise goes on; other exceptions propagate
            Budget = new ListenerBudget(maxListeners: 50, logger),
            DeclaringType = typeof(Clock),                             // warnings name Clock.Ticked, not WeakEvent<EventArgs>
            Name = "Ticked",
        });
        #endregion
        var clock = new Clock();
        ticked.Add(Clock.TimesOut);
        ticked.Add(clock.OnTicked);
        ticked.Raise(null, EventArgs.Empty);
        Assert.Equal(1, clock.Ticks);
        ticked.Add(Clock.Fails);
        Assert.Throws<InvalidOperationException>(() => ticked.Raise(null, EventArgs.Empty));
        GC.KeepAlive(clock);
    }

    [Fact]
    public async Task AsyncEvent_AddRemove_Runs()
    {
        var repository = new Repository();
        var cache = new Cache();
        repository.Saved += cache.OnSavedAsync;
        await repository.SaveAsync("user:42");
        repository.Saved -= cache.OnSavedAsync;
        await repository.SaveAsync("user:43");
        Assert.Equal(["user:42"], cache.Invalidated);
        GC.KeepAlive(cache);
    }

    [Fact]
    public void AnyShape_Runs()
    {
        var view = new PersonView();
        var prices = new List<string>();
        #region docs-events-any-shape-use
        var person = new ObservablePerson();
        person.PropertyChanged += view.OnPropertyChanged;   // held weakly, like any Add
        person.Name = "Ada";

        var ticker = new Ticker();
        ticker.PriceChanged += Log;                         // a static method: held strongly
        ticker.Publish("MSFT", 420m);
        #endregion
        Assert.Equal(["Name"], view.Refreshed);
        Assert.Equal(1, LoggedPrices);
        GC.KeepAlive(prices);
    }

    private static int LoggedPrices { get; set; }

    private static void Log(string symbol, decimal price) => LoggedPrices++;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Display AttachDisplay(Thermometer thermometer)
    {
        var display = new Display();
        thermometer.Changed += display.OnChanged;
        thermometer.Report(1);
        return display;
    }

    #region docs-events-async-event
    public sealed class Repository
    {
        private readonly AsyncWeakEvent<string> _saved = new();

        public event Func<object?, string, CancellationToken, ValueTask>? Saved
        {
            add => _saved.Add(value);
            remove => _saved.Remove(value);
        }

        public ValueTask SaveAsync(string key) => _saved.RaiseAsync(this, key);
    }
    #endregion

    public sealed class Clock
    {
        public int Ticks { get; private set; }

        public static void TimesOut(object? sender, EventArgs e) => throw new TimeoutException();

        public static void Fails(object? sender, EventArgs e) => throw new InvalidOperationException();

        public void OnTicked(object? sender, EventArgs e) => Ticks++;
    }

    #region docs-events-source
    public sealed class Thermometer
    {
        private readonly WeakEvent<double> _changed = new();

        // For "+=" subscribers: held weakly through their target.
        public event EventHandler<double> Changed
        {
            add => _changed.Add(value);
            remove => _changed.Remove(value);
        }

        public int ListenerCount => _changed.Count;

        // For owner-bound subscribers: the handler lives exactly as long as the owner.
        public Subscription SubscribeChanged<TOwner>(TOwner owner, Action<TOwner, object?, double> handler)
            where TOwner : class => _changed.Subscribe(owner, handler);

        public void Report(double celsius) => _changed.Raise(this, celsius);
    }
    #endregion

    #region docs-events-any-shape
    // A view model with a weak PropertyChanged: views bound to a long-lived model can still be collected.
    public sealed class ObservablePerson : INotifyPropertyChanged
    {
        private readonly WeakDelegateEvent<PropertyChangedEventHandler> _propertyChanged = new();
        private string _name = "";

        public event PropertyChangedEventHandler? PropertyChanged
        {
            add => _propertyChanged.Add(value);
            remove => _propertyChanged.Remove(value);
        }

        public string Name
        {
            get => _name;
            set
            {
                _name = value;
                _propertyChanged.Raise(this, new PropertyChangedEventArgs(nameof(Name)));
            }
        }
    }

    // Your own delegate type: raise with a static lambda and a value-tuple state (no allocation).
    public delegate void PriceChangedHandler(string symbol, decimal price);

    public sealed class Ticker
    {
        private readonly WeakDelegateEvent<PriceChangedHandler> _priceChanged = new();

        public event PriceChangedHandler? PriceChanged
        {
            add => _priceChanged.Add(value);
            remove => _priceChanged.Remove(value);
        }

        public void Publish(string symbol, decimal price) =>
            _priceChanged.Raise((Symbol: symbol, Price: price), static (handler, state) => handler(state.Symbol, state.Price));
    }
    #endregion

    public sealed class Label
    {
        public string Text { get; set; } = "";
    }

    public sealed class Display
    {
        public double Last { get; private set; }

        public void OnChanged(object? sender, double celsius) => Last = celsius;
    }

    public sealed class Cache
    {
        public List<string> Invalidated { get; } = [];

        public void Invalidate(string key) => Invalidated.Add(key);

        public ValueTask OnSavedAsync(object? sender, string key, CancellationToken cancellationToken)
        {
            Invalidate(key);
            return default;
        }
    }

    public sealed class PersonView
    {
        public List<string?> Refreshed { get; } = [];

        public void Refresh(string? propertyName) => Refreshed.Add(propertyName);

        public void OnPropertyChanged(object? sender, PropertyChangedEventArgs e) => Refresh(e.PropertyName);
    }

    public sealed class Person : INotifyPropertyChanged
    {
        private string _name = "";

        public event PropertyChangedEventHandler? PropertyChanged;

        public string Name
        {
            get => _name;
            set
            {
                _name = value;
                PropertyChanged?.Invoke(this, new PropertyChangedEventArgs(nameof(Name)));
            }
        }
    }
}
