using System.Runtime.CompilerServices;
using SafeRefs.Events;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

/// <summary>A weak event's budget counts live handlers: collected ones never take a live handler's place.</summary>
[Collection(GcCollection.Name)]
public sealed class WeakEventBudgetCollectionTests
{
    // Three handlers whose targets (owners) were collected still held their places until their entries were dropped,
    // which a raise does only above max(4, 25 %) dead entries: a live fourth handler was refused (and every later one,
    // until a gen-2 sweep), although no handler was alive. The gen-2 sweep is held, so only the Add/Subscribe can drop
    // them. Control: with the three handlers alive, the fourth is refused.
    [Theory]
    [InlineData(true, false)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(false, true)]
    public void FullOfCollectedHandlers_ALiveHandlerIsAccepted(bool collected, bool subscribe)
    {
        // A task, not an event: a sweep that read the hook just before it was cleared may still wait on it.
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        PurgeRegistry.Gen2PurgeHook = () => hold.Task.Wait(TestTimeouts.Bound);
        try
        {
            var budget = new ListenerBudget(maxListeners: 3) { OnExceeded = ListenerBudgetAction.Throw };
            var source = new WeakEvent<int>(new WeakEventOptions { Budget = budget, Name = "E" });
            var kept = new List<Target>();
            if (collected)
            {
                foreach (var reference in AttachDying(source, 3, subscribe))
                {
                    GcAssert.Collected(reference);
                }

                source.Raise(null, 1);
                Assert.Equal(0, source.Count);
            }
            else
            {
                for (var i = 0; i < 3; i++)
                {
                    var target = new Target();
                    kept.Add(target);
                    Attach(source, target, subscribe);
                }
            }

            var live = new Target();
            var error = Record.Exception(() => Attach(source, live, subscribe));

            if (collected)
            {
                Assert.Null(error);
                Assert.Equal(1, budget.Count(source, "E"));
                source.Raise(null, 2);
                Assert.Equal(1, live.Seen);
            }
            else
            {
                Assert.IsType<ListenerLimitExceededException>(error);
                Assert.Equal(3, budget.Count(source, "E"));
            }

            GC.KeepAlive(live);
            GC.KeepAlive(kept);
        }
        finally
        {
            PurgeRegistry.Gen2PurgeHook = null;
            hold.SetResult();
        }
    }

    private static void Attach(WeakEvent<int> source, Target target, bool subscribe)
    {
        if (subscribe)
        {
            _ = source.Subscribe(target, static (t, _, _) => t.Seen++);
        }
        else
        {
            source.Add(target.Handle);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference[] AttachDying(WeakEvent<int> source, int count, bool subscribe)
    {
        var references = new WeakReference[count];
        for (var i = 0; i < count; i++)
        {
            var target = new Target();
            Attach(source, target, subscribe);
            references[i] = new WeakReference(target);
        }

        return references;
    }

    private sealed class Target
    {
        public int Seen { get; set; }

        public void Handle(object? sender, int e) => Seen++;
    }
}
