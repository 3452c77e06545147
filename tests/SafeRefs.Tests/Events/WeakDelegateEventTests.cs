using System.Collections.Specialized;
using System.ComponentModel;
using SafeRefs.Events;
using SafeRefs.Internal;

namespace SafeRefs.Tests.Events;

public sealed class WeakDelegateEventTests
{
    public delegate void PriceChanged(string symbol, decimal price);

    [Fact]
    public void PropertyChanged_AddRaiseRemove_BehavesLikeAnEvent()
    {
        var model = new Model();
        var view = new View();
        model.PropertyChanged += view.OnPropertyChanged;
        model.Name = "Ada";
        model.PropertyChanged -= view.OnPropertyChanged;
        model.Name = "Grace";
        Assert.Equal(["Name"], view.Seen);
        Assert.Equal(0, model.ListenerCount);
    }

    [Fact]
    public void NullHandler_AddAndRemove_DoNothing()
    {
        var changed = new WeakDelegateEvent<EventHandler>();
        changed.Add(null);
        changed.Remove(null);
        Assert.Equal(0, changed.Count);
        Assert.Throws<ArgumentNullException>(() => changed.Subscribe(null!, static (_, _) => { }));
        Assert.Throws<ArgumentNullException>(() => changed.Subscribe(new object(), null!));
        Assert.Throws<ArgumentNullException>(() => changed.Raise(0, (Action<EventHandler, int>)null!));
    }

    [Fact]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "SR1002", Justification = "Deliberate: checks the runtime refusal.")]
    public void Add_CapturingLambda_ThrowsPointingToSubscribe()
    {
        var model = new Model();
        var calls = 0;
        var ex = Assert.Throws<ArgumentException>(() => model.PropertyChanged += (_, _) => calls++);
        Assert.Equal("handler", ex.ParamName);
        Assert.Contains("Subscribe(owner", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, model.ListenerCount);
    }

    [Fact]
    public void EveryBclShape_Raises()
    {
        var view = new View();
        var plain = new WeakDelegateEvent<EventHandler>();
        var generic = new WeakDelegateEvent<EventHandler<int>>();
        var collection = new WeakDelegateEvent<NotifyCollectionChangedEventHandler>();
        plain.Add(view.OnPlain);
        generic.Add(view.OnValue);
        collection.Add(view.OnCollectionChanged);

        plain.Raise(this, EventArgs.Empty);
        generic.Raise(this, 7);
        collection.Raise(this, new NotifyCollectionChangedEventArgs(NotifyCollectionChangedAction.Reset));

        Assert.Equal(["plain", "value 7", "Reset"], view.Seen);
    }

    [Fact]
    public void CustomDelegate_RaisesThroughStateLambda()
    {
        var changed = new WeakDelegateEvent<PriceChanged>();
        var view = new View();
        changed.Add(view.OnPrice);
        changed.Raise((Symbol: "MSFT", Price: 420m), static (handler, state) => handler(state.Symbol, state.Price));
        Assert.Equal(["MSFT 420"], view.Seen);
    }

    [Fact]
    public void Multicast_AddsInOrder_RemoveTakesTheLastRun()
    {
        var changed = new WeakDelegateEvent<EventHandler>();
        var view = new View();
        EventHandler both = view.OnPlain;
        both += view.OnOther;
        changed.Add(both);
        changed.Add(view.OnPlain);
        changed.Raise(null, EventArgs.Empty);
        Assert.Equal(["plain", "other", "plain"], view.Seen);

        view.Seen.Clear();
        changed.Remove(both);
        changed.Raise(null, EventArgs.Empty);
        Assert.Equal(["plain"], view.Seen);
    }

    [Fact]
    public void Subscribe_CapturingHandler_FiresUntilDisposed()
    {
        var changed = new WeakDelegateEvent<EventHandler<int>>();
        var owner = new View();
        var subscription = changed.Subscribe(owner, (_, value) => owner.Seen.Add($"bound {value}"));
        changed.Raise(null, 1);
        subscription.Dispose();
        changed.Raise(null, 2);
        Assert.Equal(["bound 1"], owner.Seen);
        Assert.Equal(0, changed.Count);
    }

    [Fact]
    public void Subscribe_Multicast_Throws()
    {
        var changed = new WeakDelegateEvent<EventHandler>();
        var view = new View();
        EventHandler both = view.OnPlain;
        both += view.OnOther;
        Assert.Throws<ArgumentException>(() => changed.Subscribe(view, both));
    }

    [Fact]
    public void ContinueAndAggregate_RunsEveryHandler()
    {
        var changed = new WeakDelegateEvent<EventHandler>(new WeakEventOptions { ExceptionMode = HandlerExceptionMode.ContinueAndAggregate });
        var view = new View();
        changed.Add(View.Throw);
        changed.Add(view.OnPlain);
        var ex = Assert.Throws<AggregateException>(() => changed.Raise(null, EventArgs.Empty));
        Assert.Equal("boom", Assert.Single(ex.InnerExceptions).Message);
        Assert.Equal(["plain"], view.Seen);
    }

    [Fact]
    public void Raise_AllocatesNothing()
    {
        var model = new Model();
        var views = new List<View>();
        for (var i = 0; i < 10; i++)
        {
            var view = new View();
            views.Add(view);
            model.PropertyChanged += view.OnCount;
        }

        var prices = new WeakDelegateEvent<PriceChanged>();
        prices.Add(views[0].OnPriceCount);
        var args = new PropertyChangedEventArgs("Name");
        RaiseBoth(model, prices, args, 500); // past tiering, whose one-time work may allocate

        var before = GC.GetAllocatedBytesForCurrentThread();
        RaiseBoth(model, prices, args, 100);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(600, views[9].Count);
        GC.KeepAlive(views);
    }

    private static void RaiseBoth(Model model, WeakDelegateEvent<PriceChanged> prices, PropertyChangedEventArgs args, int times)
    {
        for (var i = 0; i < times; i++)
        {
            model.RaiseChanged(args);
            prices.Raise((Symbol: "A", Price: 1m), static (h, s) => h(s.Symbol, s.Price));
        }
    }

    private sealed class Model : INotifyPropertyChanged
    {
        private readonly WeakDelegateEvent<PropertyChangedEventHandler> _propertyChanged = new();
        private string _name = "";

        public event PropertyChangedEventHandler? PropertyChanged
        {
            add => _propertyChanged.Add(value);
            remove => _propertyChanged.Remove(value);
        }

        public int ListenerCount => _propertyChanged.Count;

        public string Name
        {
            get => _name;
            set
            {
                _name = value;
                RaiseChanged(new PropertyChangedEventArgs(nameof(Name)));
            }
        }

        public void RaiseChanged(PropertyChangedEventArgs args) => _propertyChanged.Raise(this, args);
    }

    private sealed class View
    {
        public List<string> Seen { get; } = [];

        public int Count { get; private set; }

        public static void Throw(object? sender, EventArgs e) => throw new InvalidOperationException("boom");

        public void OnPropertyChanged(object? sender, PropertyChangedEventArgs e) => Seen.Add(e.PropertyName!);

        public void OnCount(object? sender, PropertyChangedEventArgs e) => Count++;

        public void OnPlain(object? sender, EventArgs e) => Seen.Add("plain");

        public void OnOther(object? sender, EventArgs e) => Seen.Add("other");

        public void OnValue(object? sender, int value) => Seen.Add($"value {value}");

        public void OnCollectionChanged(object? sender, NotifyCollectionChangedEventArgs e) => Seen.Add(e.Action.ToString());

        public void OnPrice(string symbol, decimal price) => Seen.Add($"{symbol} {price}");

        public void OnPriceCount(string symbol, decimal price) => Count++;
    }
}
