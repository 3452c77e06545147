using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Pooling;

namespace SafeRefs.Tests.Pooling;

public sealed class GuardedObjectPoolPropertyTests
{
    private const int Limit = 10;

    /// <summary>
    /// Random per-lease listener counts through a pool of one object: after every return both invocation lists are
    /// empty, and the warning fires exactly once iff some lease attached more than the limit to one event.
    /// </summary>
    [Property(MaxTest = 200)]
    public Property RandomPerLeaseCounts_ListsEmptyAfterEachReturn_WarnsOnceIffAboveLimit()
    {
        var leases = Gen.ArrayOf(Gen.Choose(0, 15).Zip(Gen.Choose(0, 3))).ToArbitrary();
        return Prop.ForAll(leases, static counts =>
        {
            var pool = new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>(), maximumRetained: 1));
            var exceeded = 0;
            pool.MaxListenersExceeded += (_, _) => exceeded++;
            Widget? widget = null;
            foreach (var (changed, ticked) in counts)
            {
                using (var lease = pool.Rent())
                {
                    Assert.True(widget is null || ReferenceEquals(widget, lease.Value));
                    widget = lease.Value;
                    for (var i = 0; i < changed; i++)
                    {
                        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => { }));
                    }

                    for (var i = 0; i < ticked; i++)
                    {
                        lease.On(static (w, h) => w.Ticked += h, static (w, h) => w.Ticked -= h, (EventHandler<int>)((_, _) => { }));
                    }

                    Assert.Equal(changed, widget.ChangedCount);
                    Assert.Equal(ticked, widget.TickedCount);
                }

                Assert.Equal(0, widget.ChangedCount);
                Assert.Equal(0, widget.TickedCount);
            }

            var expected = counts.Any(static c => c.Item1 > Limit) ? 1 : 0;
            return exceeded == expected && pool.Statistics.Outstanding == 0;
        });
    }
}
