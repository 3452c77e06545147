using System.Diagnostics;
using SafeRefs.Internal;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Tests.Pooling;

namespace SafeRefs.Tests.Internal;

[Collection(SoakCollection.Name)]
public sealed class PooledSlotSoakTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Sections_BiasedThreadAndAnotherThread_NeverOverlap(bool quietOther)
    {
        const int rounds = 150;
        const int sectionsPerThread = 200;
        var budget = new BiasBudget(int.MaxValue);
        var slot = new PooledSlot<Widget>(new Widget(), budget);
        var counter = 0;
        using var start = new Barrier(2);
        using var done = new Barrier(2);
        var version = 1;
        var other = new Thread(() =>
        {
            for (var round = 0; round < rounds; round++)
            {
                start.SignalAndWait();
                var v = Volatile.Read(ref version);
                for (var i = 0; i < sectionsPerThread; i++)
                {
                    var taken = quietOther ? slot.EnterQuiet(v) : slot.Enter(v);
                    Increment(ref counter);
                    slot.Exit(taken);
                }

                done.SignalAndWait();
            }
        });
        other.Start();
        for (var round = 0; round < rounds; round++)
        {
            // A new lease, biased to this thread: the other thread revokes it once in the round.
            version += 2;
            slot.Version = version;
            slot.BiasThread = Environment.CurrentManagedThreadId;
            start.SignalAndWait();
            for (var i = 0; i < sectionsPerThread; i++)
            {
                var taken = slot.Enter(version);
                Increment(ref counter);
                slot.Exit(taken);
            }

            done.SignalAndWait();
            Assert.Equal((round + 1) * 2 * sectionsPerThread, counter);
        }

        Assert.True(other.Join(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void Revocation_WhileTheBiasedThreadEntersInATightLoop_NeverLetsBothIn()
    {
        // The biased thread enters with a store and a load and no fence; only the revoker's process-wide barrier keeps
        // the two from both getting in when the revocation lands between them. Bounded by rounds and by time (each
        // round costs a process-wide barrier; a Debug build on a loaded machine is many times slower).
        const int maxRounds = 30_000;
        var budget = Stopwatch.StartNew();
        var slot = new PooledSlot<Widget>(new Widget(), new BiasBudget(int.MaxValue));
        var holder = 0;
        var overlaps = 0;
        var revoked = 0;
        var go = true;
        using var start = new Barrier(2);
        var other = new Thread(() =>
        {
            for (var round = 0; ; round++)
            {
                start.SignalAndWait();
                if (!Volatile.Read(ref go))
                {
                    return;
                }

                var version = Volatile.Read(ref slot.Version);
                Thread.SpinWait(round % 64);
                var taken = slot.EnterQuiet(version);
                overlaps += Occupy(ref holder, 2);
                slot.Exit(taken);
                Volatile.Write(ref revoked, round + 1);
            }
        });
        other.Start();
        var rounds = 0;
        for (; rounds < maxRounds && budget.Elapsed < TimeSpan.FromSeconds(3); rounds++)
        {
            slot.Version = 2 * rounds + 1;
            slot.BiasThread = Environment.CurrentManagedThreadId;
            start.SignalAndWait();
            while (Volatile.Read(ref revoked) <= rounds)
            {
                var taken = slot.Enter(slot.Version);
                overlaps += Occupy(ref holder, 1);
                slot.Exit(taken);
            }
        }

        Volatile.Write(ref go, false);
        start.SignalAndWait();
        Assert.True(other.Join(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, overlaps);
        Assert.True(rounds >= 100, $"only {rounds} rounds ran");
    }

    // Marks the section as held by id for a moment: 1 if another thread wrote its mark meanwhile (both were inside).
    private static int Occupy(ref int holder, int id)
    {
        holder = id;
        Thread.SpinWait(8);
        return holder == id ? 0 : 1;
    }

    // A read-modify-write slow enough that two overlapping sections lose an update.
    private static void Increment(ref int counter)
    {
        var value = counter;
        Thread.SpinWait(20);
        counter = value + 1;
    }
}
