using System.ComponentModel;
using System.Runtime.CompilerServices;
using CommunityToolkit.Mvvm.ComponentModel;
using SafeRefs.Events;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

/// <summary>
/// A generated [WeakEvent] does not keep its subscribers alive, also for CommunityToolkit.Mvvm view models that
/// listen to a long-lived model; each test has a control twin whose subscriber is rooted and keeps firing.
/// </summary>
[Collection(GcCollection.Name)]
public sealed partial class WeakEventAttributeCollectionTests
{
    [Fact]
    public void GeneratedEvent_SubscriberDropped_IsCollectedWhileSourceLives()
    {
        var source = new Ticker();
        var subscriber = Attach(source, root: null);
        GcAssert.Collected(subscriber, "the generated event holds its handlers' targets weakly");
        source.Tick();
        GC.KeepAlive(source);
    }

    [Fact]
    public void GeneratedEvent_SubscriberRooted_ControlTwin_StaysAndFires()
    {
        var source = new Ticker();
        var root = new List<Counter>();
        var subscriber = Attach(source, root);
        GcAssert.NotCollected(subscriber, "the test roots the subscriber");
        source.Tick();
        Assert.Equal(1, root[0].Calls);
        GC.KeepAlive(source);
    }

    [Fact]
    public void ObservableObjectViewModel_Dropped_IsNotKeptAliveByLongLivedModel()
    {
        var model = new PriceModel();
        var viewModel = CreateViewModel(model, root: null);
        GcAssert.Collected(viewModel, "the model's [WeakEvent] PropertyChanged holds the view model weakly");
        model.Price = 2;
        GC.KeepAlive(model);
    }

    [Fact]
    public void ObservableObjectViewModel_Rooted_ControlTwin_FollowsTheModel()
    {
        var model = new PriceModel();
        var root = new List<QuoteViewModel>();
        var viewModel = CreateViewModel(model, root);
        GcAssert.NotCollected(viewModel, "the test roots the view model");
        var raised = new List<string?>();
        root[0].PropertyChanged += (_, e) => raised.Add(e.PropertyName);
        model.Price = 3;
        Assert.Equal("3", root[0].Display);
        Assert.Equal(["Display"], raised);
        GC.KeepAlive(model);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference Attach(Ticker source, List<Counter>? root)
    {
        var counter = new Counter();
        source.Ticked += counter.OnTicked;
        root?.Add(counter);
        return new WeakReference(counter);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference CreateViewModel(PriceModel model, List<QuoteViewModel>? root)
    {
        var viewModel = new QuoteViewModel(model);
        root?.Add(viewModel);
        return new WeakReference(viewModel);
    }

    private sealed partial class Ticker
    {
        [WeakEvent]
        public partial event EventHandler? Ticked;

        public void Tick() => OnTicked();
    }

    private sealed class Counter
    {
        public int Calls { get; private set; }

        public void OnTicked(object? sender, EventArgs e) => Calls++;
    }

    /// <summary>
    /// The model implements INotifyPropertyChanged itself with a weak PropertyChanged: a view model deriving from
    /// ObservableObject cannot redeclare its own PropertyChanged, but it can listen to such a model.
    /// </summary>
    private sealed partial class PriceModel : INotifyPropertyChanged
    {
        private decimal _price;

        [WeakEvent]
        public partial event PropertyChangedEventHandler? PropertyChanged;

        public decimal Price
        {
            get => _price;
            set
            {
                _price = value;
                OnPropertyChanged();
            }
        }
    }

    private sealed partial class QuoteViewModel : ObservableObject
    {
        private readonly PriceModel _model;

        public QuoteViewModel(PriceModel model)
        {
            _model = model;
            _model.PropertyChanged += OnModelChanged;
        }

        public string Display => _model.Price.ToString(System.Globalization.CultureInfo.InvariantCulture);

        private void OnModelChanged(object? sender, PropertyChangedEventArgs e) => OnPropertyChanged(nameof(Display));
    }
}
