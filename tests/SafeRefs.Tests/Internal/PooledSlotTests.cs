using SafeRefs.Internal;
using SafeRefs.Tests.Pooling;

namespace SafeRefs.Tests.Internal;

public sealed class PooledSlotTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    // A slot whose lease (version 1) is biased to the calling thread.
    private static PooledSlot<Widget> BiasedSlot(BiasBudget budget) =>
        new(new Widget(), budget) { Version = 1, BiasThread = Environment.CurrentManagedThreadId };

    [Fact]
    public void Enter_OnTheBiasThread_EntersBiased_AndRecognisesReentry()
    {
        var budget = new BiasBudget(8);
        var slot = BiasedSlot(budget);

        var outer = slot.Enter(1);
        var inner = slot.Enter(1);
        var innerQuiet = slot.EnterQuiet(1);
        slot.Exit(innerQuiet);
        slot.Exit(inner);
        slot.Exit(outer);

        Assert.Equal((PooledSlot<Widget>.Biased, PooledSlot<Widget>.Reentered, PooledSlot<Widget>.Reentered), (outer, inner, innerQuiet));
        Assert.Equal(PooledSlot<Widget>.Biased, Enter(slot, quiet: true));
        Assert.Equal(8, budget.Left);
    }

    [Fact]
    public void Enter_FromAnotherThread_RevokesTheBiasOnce_ThenTheBiasThreadTakesTheLockWord()
    {
        var budget = new BiasBudget(8);
        var slot = BiasedSlot(budget);

        var other = RunOnThread(() => Enter(slot, quiet: false));

        Assert.Equal(PooledSlot<Widget>.Locked, other);
        Assert.Equal(0, slot.BiasThread);
        Assert.Equal(7, budget.Left);
        Assert.Equal(PooledSlot<Widget>.Locked, Enter(slot, quiet: false));
        Assert.Equal(PooledSlot<Widget>.Locked, Enter(slot, quiet: true));
        Assert.Equal(7, budget.Left);
    }

    [Fact]
    public void Enter_FromAnotherThreadWithAnEndedLease_NeverRevokes()
    {
        var budget = new BiasBudget(8);
        var slot = BiasedSlot(budget);
        slot.Version = 3;

        var stale = RunOnThread(() => Enter(slot, quiet: false, version: 1));
        var staleQuiet = RunOnThread(() => Enter(slot, quiet: true, version: 1));

        Assert.Equal((PooledSlot<Widget>.Locked, PooledSlot<Widget>.Locked), (stale, staleQuiet));
        Assert.Equal(Environment.CurrentManagedThreadId, slot.BiasThread);
        Assert.Equal(8, budget.Left);
        Assert.Equal(PooledSlot<Widget>.Biased, Enter(slot, quiet: false, version: 3));
    }

    [Fact]
    public void ClearBias_TheBiasThreadNoLongerEntersBiased()
    {
        var slot = BiasedSlot(new BiasBudget(8));
        var taken = slot.EnterQuiet(1);
        slot.ClearBias();
        slot.Exit(taken);

        Assert.Equal(PooledSlot<Widget>.Biased, taken);
        Assert.Equal(PooledSlot<Widget>.Locked, Enter(slot, quiet: false));
    }

    [Fact]
    public void Revoker_WaitsUntilTheBiasedSectionEnds()
    {
        var slot = BiasedSlot(new BiasBudget(8));
        var entered = false;
        var outer = slot.Enter(1);
        var revoker = new Thread(() =>
        {
            var taken = slot.Enter(1);
            Volatile.Write(ref entered, true);
            slot.Exit(taken);
        });
        revoker.Start();

        // The revoker clears the bias first, then waits for the biased section to end.
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref slot.BiasThread) == 0, Patience));
        var enteredWhileBiasedHolderInside = SpinWait.SpinUntil(() => Volatile.Read(ref entered), TimeSpan.FromMilliseconds(200));
        slot.Exit(outer);

        Assert.True(revoker.Join(Patience));
        Assert.Equal(PooledSlot<Widget>.Biased, outer);
        Assert.False(enteredWhileBiasedHolderInside);
        Assert.True(entered);
    }

    [Fact]
    public void BiasedHolder_RevokedWhileInside_ReentersWithoutDeadlock()
    {
        var slot = new PooledSlot<Widget>(new Widget(), new BiasBudget(8)) { Version = 1 };
        using var inside = new ManualResetEventSlim();
        var reentered = new int[2];
        var holder = new Thread(() =>
        {
            slot.BiasThread = Environment.CurrentManagedThreadId;
            var outer = slot.Enter(1);
            inside.Set();
            SpinWait.SpinUntil(() => Volatile.Read(ref slot.BiasThread) == 0);

            // User code inside the section (an add accessor) calls back into the lease while the revoker holds the
            // lock word and waits for this section: both ways in must see the re-entry.
            reentered[0] = Enter(slot, quiet: false);
            reentered[1] = Enter(slot, quiet: true);
            slot.Exit(outer);
        });
        holder.Start();
        inside.Wait();
        var revoker = new Thread(() => slot.Exit(slot.EnterQuiet(1)));
        revoker.Start();

        Assert.True(holder.Join(Patience), "the biased holder deadlocked re-entering");
        Assert.True(revoker.Join(Patience));
        Assert.Equal([PooledSlot<Widget>.Reentered, PooledSlot<Widget>.Reentered], reentered);
    }

    [Fact]
    public void LockedHolderRunningUserCode_Reenters_QuietHolderDoesNotBlockItsOwnThreadForever()
    {
        var slot = new PooledSlot<Widget>(new Widget(), new BiasBudget(0)) { Version = 1 };
        var outer = slot.Enter(1);
        var inner = slot.Enter(1);
        var innerQuiet = slot.EnterQuiet(1);
        slot.Exit(innerQuiet);
        slot.Exit(inner);
        slot.Exit(outer);

        Assert.Equal((PooledSlot<Widget>.Locked, PooledSlot<Widget>.Reentered, PooledSlot<Widget>.Reentered), (outer, inner, innerQuiet));
    }

    // Enters and leaves at once; returns what was taken.
    private static int Enter(PooledSlot<Widget> slot, bool quiet, int version = 1)
    {
        var taken = quiet ? slot.EnterQuiet(version) : slot.Enter(version);
        if (taken != PooledSlot<Widget>.Reentered)
        {
            slot.Exit(taken);
        }

        return taken;
    }

    private static int RunOnThread(Func<int> action)
    {
        var result = -1;
        var thread = new Thread(() => result = action());
        thread.Start();
        Assert.True(thread.Join(Patience));
        return result;
    }
}
