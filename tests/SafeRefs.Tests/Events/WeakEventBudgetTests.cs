using SafeRefs.Events;
using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Events;

public sealed class WeakEventBudgetTests
{
    [Fact]
    public void Subscribe_AboveBudget_WarnsOncePerEvent()
    {
        var budget = new ListenerBudget(maxListeners: 2);
        var warnings = new List<ListenerLeakEventArgs>();
        budget.Exceeded += (_, e) => warnings.Add(e);
        var source = new WeakEvent<int>(new WeakEventOptions { Budget = budget, Name = "Changed" });
        var owner = new object();
        for (var i = 0; i < 4; i++)
        {
            source.Subscribe(owner, static (_, _, _) => { });
        }

        var warning = Assert.Single(warnings);
        Assert.Same(source, warning.Source);
        Assert.Equal("Changed", warning.EventName);
        Assert.Equal(3, warning.Count);
        Assert.Equal(4, budget.Count(source, "Changed"));
        Assert.Equal(4, source.Count);
    }

    [Fact]
    public void DisposeAndRemove_GiveThePlaceBack()
    {
        var budget = new ListenerBudget(maxListeners: 10);
        var source = new WeakEvent<int>(new WeakEventOptions { Budget = budget, Name = "E" });
        var owner = new object();
        var token = source.Subscribe(owner, static (_, _, _) => { });
        source.Add(Handler);
        Assert.Equal(2, budget.Count(source, "E"));
        token.Dispose();
        token.Dispose();
        source.Remove(Handler);
        Assert.Equal(0, budget.Count(source, "E"));
    }

    [Fact]
    public void Subscribe_BudgetThrows_NothingAttached()
    {
        var budget = new ListenerBudget(maxListeners: 1) { OnExceeded = ListenerBudgetAction.Throw };
        var source = new AsyncWeakEvent<int>(new WeakEventOptions { Budget = budget });
        var owner = new object();
        source.Subscribe(owner, static (_, _, _, _) => default);
        Assert.Throws<ListenerLimitExceededException>(() => source.Subscribe(owner, static (_, _, _, _) => default));
        Assert.Equal(1, source.Count);
        Assert.Equal(1, budget.Count(source, "(unnamed)"));
    }

    private static void Handler(object? sender, int e)
    {
    }
}
