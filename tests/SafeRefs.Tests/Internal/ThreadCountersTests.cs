using SafeRefs.Internal;

namespace SafeRefs.Tests.Internal;

public sealed class ThreadCountersTests
{
    [Fact]
    public void Read_AfterThreadsJoin_SumsEveryIncrementOfEveryCounter()
    {
        const int threads = 4;
        const int perThread = 10_000;
        var counters = new ThreadCounters();
        using var barrier = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            barrier.SignalAndWait();
            for (var i = 0; i < perThread; i++)
            {
                var cell = counters.Local;
                cell.Add0(1);
                cell.Add1(2);
                cell.Add2(3);
                cell.Add3(4);
            }
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());

        counters.Read(out var c0, out var c1, out var c2, out var c3);
        Assert.Equal((1L, 2L, 3L, 4L), (c0 / (threads * perThread), c1 / (threads * perThread), c2 / (threads * perThread), c3 / (threads * perThread)));
        Assert.Equal(threads * perThread * 10L, c0 + c1 + c2 + c3);
    }

    [Fact]
    public void Read_WhileThreadsIncrement_NeverDecreasesAndEndsExact()
    {
        const int threads = 2;
        const int perThread = 50_000;
        var counters = new ThreadCounters();
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            for (var i = 0; i < perThread; i++)
            {
                counters.Local.Add0(1);
            }
        })).ToList();
        workers.ForEach(t => t.Start());
        long last = 0;
        while (workers.Exists(t => t.IsAlive))
        {
            counters.Read(out var now, out _, out _, out _);
            Assert.True(now >= last, $"{now} < {last}");
            last = now;
        }

        workers.ForEach(t => t.Join());
        counters.Read(out var total, out _, out _, out _);
        Assert.Equal(threads * perThread, total);
    }

    [Fact]
    public void DeadThreadsCells_AreFoldedOnNextRegistration_TotalStaysExact()
    {
        var counters = new ThreadCounters();
        for (var i = 0; i < 20; i++)
        {
            var thread = new Thread(() => counters.Local.Add1(5));
            thread.Start();
            thread.Join();
        }

        counters.Read(out _, out var c1, out _, out _);
        Assert.Equal(100, c1);

        // Each registration folded the cells of the threads that had died before it.
        Assert.True(counters.CellCount <= 2, $"{counters.CellCount} cells registered");
        counters.Local.Add1(1);
        counters.Read(out _, out c1, out _, out _);
        Assert.Equal(101, c1);
    }

    [Fact]
    public void OneThreadUsingMoreCountersThanItCaches_EvictsCells_TotalsStayExactAndCellsBounded()
    {
        const int many = ThreadCounters.CacheSize * 3;
        const int rounds = 50;
        var all = Enumerable.Range(0, many).Select(_ => new ThreadCounters()).ToArray();
        for (var round = 0; round < rounds; round++)
        {
            foreach (var counters in all)
            {
                counters.Local.Add2(1);
            }
        }

        foreach (var counters in all)
        {
            counters.Read(out _, out _, out var c2, out _);
            Assert.Equal(rounds, c2);
            Assert.True(counters.CellCount <= 2, $"{counters.CellCount} cells registered");
        }
    }
}
