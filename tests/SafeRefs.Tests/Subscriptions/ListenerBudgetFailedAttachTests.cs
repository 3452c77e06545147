using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// With <see cref="ListenerBudgetAction.Warn"/> the listener is attached, then the excess is reported: an attach whose
/// <c>add</c> throws (a disposed source) is given back and reports nothing, so the warning, once per (source, event),
/// is still there for the real excess that follows.
/// </summary>
public sealed class ListenerBudgetFailedAttachTests
{
    [Fact]
    public void Warn_AddThrowsAboveTheLimit_NothingReported_ThenTheRealExcessIsReported()
    {
        var (atFailedAttach, atRealExcess) = ExceededRaised(failSecondAdd: true);
        Assert.Equal((0, 1), (atFailedAttach, atRealExcess));
    }

    // Control twin: with no failing add, the second listener is the excess, reported once.
    [Fact]
    public void Control_Warn_NoFailingAdd_TheExcessIsReportedOnce()
    {
        var (atSecond, atThird) = ExceededRaised(failSecondAdd: false);
        Assert.Equal((1, 0), (atSecond, atThird));
    }

    [Fact]
    public void Throw_AboveTheLimit_StillRefusedBeforeTheAdd()
    {
        var budget = new ListenerBudget(maxListeners: 1) { OnExceeded = ListenerBudgetAction.Throw };
        var source = new FlakySource();
        using var first = Attach(source, budget);

        Assert.Throws<ListenerLimitExceededException>(() => Attach(source, budget));

        Assert.Equal(1, source.Adds);
        Assert.Equal(1, budget.Count(source, "Changed"));
    }

    /// <summary>Limit 1: attaches a first listener, then a second (whose add may throw), then a third; returns how often
    /// <see cref="ListenerBudget.Exceeded"/> was raised by the second and by the third.</summary>
    private static (int AtSecond, int AtThird) ExceededRaised(bool failSecondAdd)
    {
        var budget = new ListenerBudget(maxListeners: 1);
        var raised = 0;
        budget.Exceeded += (_, _) => raised++;
        var source = new FlakySource();
        using var first = Attach(source, budget);

        source.FailNextAdd = failSecondAdd;
        Subscription? second = null;
        try
        {
            second = Attach(source, budget);
        }
        catch (ObjectDisposedException) when (failSecondAdd)
        {
        }

        var atSecond = raised;
        Assert.Equal(failSecondAdd ? 1 : 2, budget.Count(source, "Changed")); // setup: a failed add was given back
        using var third = Attach(source, budget);
        Assert.Equal(failSecondAdd ? 2 : 3, source.Handlers); // setup: the listeners really attached
        second?.Dispose();
        return (atSecond, raised - atSecond);
    }

    private static Subscription Attach(FlakySource source, ListenerBudget budget) =>
        Subscribe.Event(source, static (s, h) => s.Add(h), static (s, h) => s.Remove(h), (EventHandler)((_, _) => { }), budget, "Changed");

    private sealed class FlakySource
    {
        private EventHandler? _changed;

        public bool FailNextAdd { get; set; }

        public int Adds { get; private set; }

        public int Handlers => _changed?.GetInvocationList().Length ?? 0;

        public void Add(EventHandler handler)
        {
            if (FailNextAdd)
            {
                FailNextAdd = false;
                throw new ObjectDisposedException(nameof(FlakySource));
            }

            Adds++;
            _changed += handler;
        }

        public void Remove(EventHandler handler) => _changed -= handler;
    }
}
