using System.ComponentModel;
using SafeRefs.Events;
using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Docs;

/// <summary>The [WeakEvent] examples of docs/events.md, compiled (with the generator) and run.</summary>
public sealed class WeakEventAttributeDocs
{
    [Fact]
    public void Thermostat_GeneratedEvents_RaiseToWeakListeners()
    {
        var thermostat = new Thermostat();
        var display = new ThermostatDisplay();
        thermostat.Reached += display.OnReached;
        thermostat.PropertyChanged += display.OnPropertyChanged;

        thermostat.Target = 21;
        thermostat.Report(20);
        thermostat.Report(21.5);

        Assert.Equal(["Target"], display.Properties);
        Assert.Equal([21.5], display.Reached);
    }

    [Fact]
    public void Alerts_GeneratedStaticEventWithBudget_CountsItsHandlers()
    {
        var warnings = 0;
        EventHandler<ListenerLeakEventArgs> onExceeded = (_, _) => warnings++;
        EventHandler<string> handler = static (_, _) => { };
        Alerts.Listeners.Exceeded += onExceeded;
        for (var i = 0; i < 21; i++)
        {
            Alerts.Raised += handler;
        }

        for (var i = 0; i < 21; i++)
        {
            Alerts.Raised -= handler;
        }

        Alerts.Listeners.Exceeded -= onExceeded;
        Assert.Equal(1, warnings);
    }

    private sealed class ThermostatDisplay
    {
        public List<string?> Properties { get; } = [];

        public List<double> Reached { get; } = [];

        public void OnReached(object? sender, double celsius) => Reached.Add(celsius);

        public void OnPropertyChanged(object? sender, PropertyChangedEventArgs e) => Properties.Add(e.PropertyName);
    }
}

#region docs-events-weak-event-attribute
public sealed partial class Thermostat : INotifyPropertyChanged
{
    private double _target;

    // Generated: the accessors, backed by a weak event, and private void OnReached(double e).
    [WeakEvent]
    public partial event EventHandler<double>? Reached;

    // Generated: private void OnPropertyChanged([CallerMemberName] string? propertyName = null).
    [WeakEvent]
    public partial event PropertyChangedEventHandler? PropertyChanged;

    public double Target
    {
        get => _target;
        set
        {
            _target = value;
            OnPropertyChanged();
        }
    }

    public void Report(double celsius)
    {
        if (celsius >= _target)
        {
            OnReached(celsius);
        }
    }
}
#endregion

#region docs-events-weak-event-budget
public static partial class Alerts
{
    internal static readonly ListenerBudget Listeners = new(maxListeners: 20);

    // Counted with Listeners: a 21st live handler is reported as a possible leak of Alerts.Raised.
    [WeakEvent(Budget = nameof(Listeners))]
    public static partial event EventHandler<string>? Raised;
}
#endregion
