using Microsoft.Extensions.Logging.Testing;
using SafeRefs.Events;
using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Events;

/// <summary>
/// A generated [WeakEvent] with <c>Budget</c> counts its handlers with the named budget, and its warnings name the
/// declaring class and the event once each ("Alarms.Raised", not the type twice).
/// </summary>
public sealed partial class WeakEventAttributeBudgetTests
{
    [Fact]
    public void GeneratedStaticEvent_WithBudget_WarnsOnceNamingTheClassAndTheEvent()
    {
        var warnings = new List<ListenerLeakEventArgs>();
        EventHandler<ListenerLeakEventArgs> onExceeded = (_, e) => warnings.Add(e);
        EventHandler<int> handler = static (_, _) => { };
        Alarms.Listeners.Exceeded += onExceeded;
        try
        {
            Alarms.Raised += handler;
            Alarms.Raised += handler;
            Alarms.Raised += handler;
        }
        finally
        {
            Alarms.Raised -= handler;
            Alarms.Raised -= handler;
            Alarms.Raised -= handler;
            Alarms.Listeners.Exceeded -= onExceeded;
        }

        var warning = Assert.Single(warnings);
        Assert.Equal((typeof(Alarms), "Raised", 3), (warning.SourceType, warning.EventName, warning.Count));
        var message = Assert.Single(Alarms.Logger.Collector.GetSnapshot()).Message;
        Assert.Contains("Alarms.Raised, above the limit of 2", message, StringComparison.Ordinal);
        Assert.Single(message.Split("Alarms").Skip(1));
    }

    internal static partial class Alarms
    {
        internal static readonly FakeLogger Logger = new();

        internal static readonly ListenerBudget Listeners = new(maxListeners: 2, Logger);

        [WeakEvent(Budget = nameof(Listeners))]
        public static partial event EventHandler<int>? Raised;
    }
}
