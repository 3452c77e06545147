using System.Collections.Specialized;
using System.ComponentModel;
using SafeRefs.Events;
using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Events;

/// <summary>The code the [WeakEvent] generator writes, compiled into this project and run.</summary>
public sealed partial class WeakEventAttributeTests
{
    [Fact]
    public void GenericEventHandler_AddRaiseRemove_BehavesLikeAnEvent()
    {
        var source = new Thermometer();
        var listener = new Listener();
        source.Changed += listener.OnCelsius;
        source.Report(21.5);
        source.Changed -= listener.OnCelsius;
        source.Report(22.0);
        Assert.Equal([21.5], listener.Celsius);
        Assert.Same(source, listener.LastSender);
    }

    [Fact]
    public void AddRemove_Null_IsIgnoredAsOnAFieldLikeEvent()
    {
        var source = new Thermometer();
        source.Changed += null;
        source.Changed -= null;
        source.Report(1);
    }

    [Fact]
    public void Add_CapturingLambda_ThrowsByDefault()
    {
        var source = new Thermometer();
        var calls = 0;
        var error = Assert.Throws<ArgumentException>(() => source.Changed += (_, _) => calls++);
        Assert.Contains("Subscribe", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_CapturingLambda_AllowedByTheAttribute_IsAccepted()
    {
        var source = new Tolerant();
        var calls = 0;
        EventHandler handler = (_, _) => calls++;
        source.Ticked += handler;
        source.Tick();
        Assert.Equal(1, calls);
        GC.KeepAlive(handler);
    }

    [Fact]
    public void EventHandler_RaiseWithoutArgs_PassesEventArgsEmpty()
    {
        var source = new Tolerant();
        var listener = new Listener();
        source.Ticked += listener.OnTick;
        source.Tick();
        Assert.Same(EventArgs.Empty, listener.LastArgs);
    }

    [Fact]
    public void PropertyChanged_CallerMemberName_NamesTheProperty()
    {
        var model = new Model();
        var listener = new Listener();
        ((INotifyPropertyChanged)model).PropertyChanged += listener.OnPropertyChanged;
        model.Name = "x";
        Assert.Equal(["Name"], listener.Properties);
    }

    [Fact]
    public void CollectionChanged_Raise_ReachesTheListener()
    {
        var list = new Items();
        var listener = new Listener();
        list.CollectionChanged += listener.OnCollectionChanged;
        list.Add("a");
        Assert.Equal(NotifyCollectionChangedAction.Add, listener.LastAction);
    }

    [Fact]
    public void CustomDelegate_RaiseMethodNameAndParameters_FollowTheDelegate()
    {
        var feed = new Feed();
        var listener = new Listener();
        feed.PriceChanged += listener.OnPrice;
        feed.Publish("ABC", 12.5m);
        Assert.Equal([("ABC", 12.5m)], listener.Prices);
    }

    [Fact]
    public void StaticEvent_RaisesWithNullSender()
    {
        var listener = new Listener();
        Feed.Opened += listener.OnCelsius;
        try
        {
            Feed.Open(3);
            Assert.Equal([3.0], listener.Celsius);
            Assert.Null(listener.LastSender);
        }
        finally
        {
            Feed.Opened -= listener.OnCelsius;
        }
    }

    [Fact]
    public void ExceptionMode_FromTheAttribute_RunsEveryHandler()
    {
        var source = new Aggregating();
        var listener = new Listener();
        source.Failed += Listener.Throw;
        source.Failed += listener.OnTick;
        Assert.Throws<AggregateException>(source.Fail);
        Assert.Same(EventArgs.Empty, listener.LastArgs);
    }

    [Fact]
    public void NestedGenericType_IsImplemented()
    {
        var outer = new Outer.Inner<int>();
        var listener = new Listener();
        outer.Changed += listener.OnInt;
        outer.Set(7);
        Assert.Equal([7], listener.Ints);
    }

    // M10: a budget report about a generated event names the class that declares it (here the constructed generic
    // type), not WeakEvent<T>, and the event by its own name: reports print "Type.Event", so a name that repeated the
    // type printed it twice.
    [Fact]
    public void Budget_Warning_NamesTheDeclaringClass()
    {
        var budget = new ListenerBudget(maxListeners: 1);
        var warnings = new List<ListenerLeakEventArgs>();
        budget.Exceeded += (_, e) => warnings.Add(e);
        Budgeted<double>.UseBudget(budget);
        var source = new Budgeted<double>();
        var listener = new Listener();
        source.Changed += listener.OnCelsius;
        source.Changed += listener.OnCelsius;

        var warning = Assert.Single(warnings);
        Assert.Equal(typeof(Budgeted<double>), warning.SourceType);
        Assert.Equal("Changed", warning.EventName);
    }

    // A static event's weak event is built with its type's static fields, so no budget can be set on it afterwards:
    // check that the generated options name the declaring (constructed generic) type.
    [Fact]
    public void StaticEventInAGenericType_OptionsNameTheDeclaringClass() =>
        Assert.Equal(typeof(Budgeted<int>), Budgeted<int>.OpenedDeclaringType);

    /// <summary>A price, delivered to weak listeners.</summary>
    /// <param name="symbol">The symbol.</param>
    /// <param name="price">The price.</param>
    public delegate void PriceHandler(string symbol, decimal price);

    private sealed partial class Thermometer
    {
        [WeakEvent]
        public partial event EventHandler<double>? Changed;

        public void Report(double celsius) => OnChanged(celsius);
    }

    private sealed partial class Tolerant
    {
        [WeakEvent(CapturingLambdaWithoutOwner = ClosurePolicy.Allow, RaiseMethodName = "RaiseTicked")]
        public partial event EventHandler? Ticked;

        public void Tick() => RaiseTicked();
    }

    private sealed partial class Aggregating
    {
        [WeakEvent(ExceptionMode = HandlerExceptionMode.ContinueAndAggregate)]
        public partial event EventHandler? Failed;

        public void Fail() => OnFailed();
    }

    private sealed partial class Model : INotifyPropertyChanged
    {
        private string _name = string.Empty;

        [WeakEvent]
        public partial event PropertyChangedEventHandler? PropertyChanged;

        public string Name
        {
            get => _name;
            set
            {
                _name = value;
                OnPropertyChanged();
            }
        }
    }

    private sealed partial class Items : INotifyCollectionChanged
    {
        private readonly List<string> _items = [];

        [WeakEvent]
        public partial event NotifyCollectionChangedEventHandler? CollectionChanged;

        public void Add(string item)
        {
            _items.Add(item);
            OnCollectionChanged(new NotifyCollectionChangedEventArgs(NotifyCollectionChangedAction.Add, item, _items.Count - 1));
        }
    }

    private sealed partial class Feed
    {
        [WeakEvent(RaiseMethodName = "RaisePriceChanged")]
        public partial event PriceHandler? PriceChanged;

        [WeakEvent]
        public static partial event EventHandler<double>? Opened;

        public static void Open(double value) => OnOpened(value);

        public void Publish(string symbol, decimal price) => RaisePriceChanged(symbol, price);
    }

    private sealed partial class Budgeted<T>
    {
        [WeakEvent]
        public partial event EventHandler<T>? Changed;

        [WeakEvent]
        public static partial event EventHandler<T>? Opened;

        public static Type? OpenedDeclaringType => s_openedWeakEventOptions.DeclaringType;

        // Each instance's weak event copies the generated options when it is built: set the budget before the first one.
        public static void UseBudget(ListenerBudget budget) => s_changedWeakEventOptions.Budget = budget;
    }

    private static partial class Outer
    {
        public sealed partial class Inner<T>
        {
            [WeakEvent]
            public partial event EventHandler<T>? Changed;

            public void Set(T value) => OnChanged(value);
        }
    }

    private sealed class Listener
    {
        public List<double> Celsius { get; } = [];

        public List<int> Ints { get; } = [];

        public List<string?> Properties { get; } = [];

        public List<(string, decimal)> Prices { get; } = [];

        public object? LastSender { get; private set; }

        public EventArgs? LastArgs { get; private set; }

        public NotifyCollectionChangedAction? LastAction { get; private set; }

        public static void Throw(object? sender, EventArgs e) => throw new InvalidOperationException("boom");

        public void OnCelsius(object? sender, double celsius)
        {
            LastSender = sender;
            Celsius.Add(celsius);
        }

        public void OnInt(object? sender, int value) => Ints.Add(value);

        public void OnTick(object? sender, EventArgs e) => LastArgs = e;

        public void OnPropertyChanged(object? sender, PropertyChangedEventArgs e) => Properties.Add(e.PropertyName);

        public void OnCollectionChanged(object? sender, NotifyCollectionChangedEventArgs e) => LastAction = e.Action;

        public void OnPrice(string symbol, decimal price) => Prices.Add((symbol, price));
    }
}
