using System.Runtime.CompilerServices;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

[Collection(GcCollection.Name)]
public sealed class ListenerBudgetCollectionTests
{
    [Fact]
    public void Budget_SourceWithDisposedSubscriptions_IsCollected()
    {
        var budget = new ListenerBudget(maxListeners: 1);
        var source = CountedThenDisposed(budget);

        GcAssert.Collected(source, "a budget holds sources weakly");
        GC.KeepAlive(budget);
    }

    [Fact]
    public void Budget_SourceStillReferenced_StaysAliveAndCounted()
    {
        var budget = new ListenerBudget(maxListeners: 1);
        var holder = new List<object>();
        var source = CountedAndHeld(budget, holder);

        GcAssert.NotCollected(source, "the test holds the source");
        Assert.Equal(2, budget.Count(holder[0], "Changed"));
        GC.KeepAlive(holder);
        GC.KeepAlive(budget);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference CountedThenDisposed(ListenerBudget budget)
    {
        var source = new TestSource();
        var one = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
        var two = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
        one.Dispose();
        two.Dispose();
        return new WeakReference(source);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference CountedAndHeld(ListenerBudget budget, List<object> holder)
    {
        var source = new TestSource();
        holder.Add(source);
        holder.Add(Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget));
        holder.Add(Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget));
        return new WeakReference(source);
    }
}
