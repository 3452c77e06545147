using SafeRefs.Caching.Internal;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Caching.Internal;

public sealed class LookupCountersTests
{
    [Fact]
    public void Read_AfterThreadsJoin_CountsEveryHitAndMissExactly()
    {
        const int threads = 4;
        const int perThread = 20_000;
        var counters = new LookupCounters();
        using var barrier = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            barrier.SignalAndWaitBounded();
            for (var i = 0; i < perThread; i++)
            {
                if ((i + t) % 3 == 0)
                {
                    counters.Miss();
                }
                else
                {
                    counters.Hit();
                }
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.JoinBounded());

        var expectedMisses = Enumerable.Range(0, threads).Sum(t => Enumerable.Range(0, perThread).Count(i => (i + t) % 3 == 0));
        Assert.Equal(((long)(threads * perThread) - expectedMisses, (long)expectedMisses), counters.Read());
    }

    [Fact]
    public void Read_FromDifferentCallDepths_CountsEveryIncrement()
    {
        var counters = new LookupCounters();
        Recurse(counters, depth: 2_000);

        Assert.Equal((2_001L, 0L), counters.Read());
    }

    private static void Recurse(LookupCounters counters, int depth)
    {
        // Deep enough to cross stack granules, so increments land on more than one cell.
        Span<byte> frame = stackalloc byte[64];
        frame[0] = (byte)depth;
        counters.Hit();
        if (depth > 0)
        {
            Recurse(counters, depth - 1);
        }

        GC.KeepAlive(frame[0]);
    }
}
