using SafeRefs.Internal;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Internal;

public sealed class StripedCountersTests
{
    [Fact]
    public void Read_AfterThreadsJoin_CountsEveryIncrementAndAddExactly_PerLane()
    {
        const int threads = 4;
        const int perThread = 20_000;
        var counters = new StripedCounters(3);
        using var barrier = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            barrier.SignalAndWaitBounded();
            for (var i = 0; i < perThread; i++)
            {
                counters.Increment(0);
                counters.Add(2, 3);
                if ((i + t) % 3 == 0)
                {
                    counters.Increment(1);
                }
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.JoinBounded());

        var expectedThirds = Enumerable.Range(0, threads).Sum(t => Enumerable.Range(0, perThread).Count(i => (i + t) % 3 == 0));
        Assert.Equal(threads * perThread, counters.Read(0));
        Assert.Equal(expectedThirds, counters.Read(1));
        Assert.Equal(3L * threads * perThread, counters.Read(2));
    }

    [Fact]
    public void Read_FromDifferentCallDepths_CountsEveryIncrement()
    {
        var counters = new StripedCounters(StripedCounters.MaxLanes);
        Recurse(counters, depth: 2_000);

        Assert.Equal(2_001L, counters.Read(StripedCounters.MaxLanes - 1));
        Assert.Equal(0L, counters.Read(0));
    }

    private static void Recurse(StripedCounters counters, int depth)
    {
        // Deep enough to cross stack granules, so increments land on more than one cell.
        Span<byte> frame = stackalloc byte[64];
        frame[0] = (byte)depth;
        counters.Increment(StripedCounters.MaxLanes - 1);
        if (depth > 0)
        {
            Recurse(counters, depth - 1);
        }

        GC.KeepAlive(frame[0]);
    }
}
