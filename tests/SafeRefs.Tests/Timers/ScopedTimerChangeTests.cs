using Microsoft.Extensions.Time.Testing;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

/// <summary><c>ScopedTimer.Change</c> calls that overlap: on two threads, or nested by a clock that fires a new timer
/// at once on the changing thread. Each change that returned true takes effect, the last one stands, and a one-shot
/// timer fires once and leaves its scope.</summary>
public sealed class ScopedTimerChangeTests
{
    // The first change (one-shot, 1 s) is held inside the clock's CreateTimer, before it installs its ITimer, while a
    // second change (one-shot, 3 s) runs on another thread. The second follows the first: the timer fires once, at 3 s,
    // and leaves its scope. Twin (overlap false): the same changes one after the other.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public Task Change_TwoOneShotChanges_TheLastStands_TheTimerFiresOnceAndLeavesItsScope(bool overlap) =>
        AssertOverlappingChanges(
            overlap,
            static (clock, hold) => clock.OnCreate = _ =>
            {
                clock.OnCreate = null;
                hold();
            },
            first: (TimeSpan.FromSeconds(1), TimeSpan.Zero),
            second: (TimeSpan.FromSeconds(3), TimeSpan.Zero));

    // The first change (periodic, 2 s) is held inside the ITimer's Change while a second change (one-shot, 5 s) runs on
    // another thread. Both return true, and the one-shot stands: the timer fires once, at 5 s, and leaves its scope.
    // Twin (overlap false): the same changes one after the other.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public Task Change_PeriodicThenOneShot_BothTakeEffect_TheOneShotStands(bool overlap) =>
        AssertOverlappingChanges(
            overlap,
            static (clock, hold) => clock.BeforeChange = _ =>
            {
                clock.BeforeChange = null;
                hold();
            },
            first: (TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2)),
            second: (TimeSpan.FromSeconds(5), TimeSpan.Zero));

    // A clock fires the new one-shot ITimer at once, on the changing thread (inside CreateTimer), and the callback
    // changes the timer again (3 s): that newer change stands, so the timer fires again at 3 s and then leaves its
    // scope. Twin (firesAtOnce false): the same callback, fired by the clock after the change returned.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Change_CallbackChangesAgain_TheNewerChangeStands(bool firesAtOnce)
    {
        var clock = new HookedTimeProvider(new FakeTimeProvider());
        using var scope = new TimerScope(clock);
        var fired = 0;
        ScopedTimer? timer = null;
        timer = scope.After(TimeSpan.FromMinutes(10), () =>
        {
            if (++fired == 1)
            {
                Assert.True(timer!.Change(TimeSpan.FromSeconds(3), TimeSpan.Zero));
            }
        });
        if (firesAtOnce)
        {
            clock.OnCreate = t =>
            {
                clock.OnCreate = null;
                t.Fire();
            };
            Assert.True(timer.Change(TimeSpan.FromSeconds(1), TimeSpan.Zero));
        }
        else
        {
            Assert.True(timer.Change(TimeSpan.FromSeconds(1), TimeSpan.Zero));
            clock.Inner.Advance(TimeSpan.FromSeconds(1));
        }

        // 3 s after the first firing, and only then, the timer fires again.
        Assert.Equal(1, fired);
        clock.Inner.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, fired);
        clock.Inner.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal((2, false, 0), (fired, timer.IsActive, scope.ActiveCount));
        clock.Inner.Advance(TimeSpan.FromMinutes(20));
        Assert.Equal(2, fired);
    }

    // A change to a zero-delay one-shot: the fake clock fires the new ITimer at once, inside CreateTimer on the changing
    // thread, and that firing ends the timer before Change returns. The change took effect, so it returns true. Twin
    // (atOnce false): a one-shot due in 1 s, fired by the clock after the change returned.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Change_ToAOneShotTheClockFiresAtOnce_ReturnsTrueAndTheTimerFiresOnce(bool atOnce)
    {
        var clock = new FakeTimeProvider();
        using var scope = new TimerScope(clock);
        var fired = 0;
        var timer = scope.Every(TimeSpan.FromMinutes(10), () => fired++);
        var due = atOnce ? TimeSpan.Zero : TimeSpan.FromSeconds(1);

        Assert.True(timer.Change(due, TimeSpan.Zero), "the change took effect");
        Assert.Equal(atOnce ? 1 : 0, fired);
        clock.Advance(due);
        Assert.Equal((1, false, 0), (fired, timer.IsActive, scope.ActiveCount));
        clock.Advance(TimeSpan.FromMinutes(20));
        Assert.Equal(1, fired);
        Assert.False(timer.Change(due, TimeSpan.Zero), "a fired one-shot is no longer active");
    }

    // A timer due in 10 minutes gets two changes, the first held inside the clock (by the hook holdFirst installs) while
    // the second runs, when overlap; both return true and the second, a one-shot, stands: the timer fires once, at its
    // due time, and leaves its scope.
    private static async Task AssertOverlappingChanges(
        bool overlap,
        Action<HookedTimeProvider, Action> holdFirst,
        (TimeSpan Due, TimeSpan Period) first,
        (TimeSpan Due, TimeSpan Period) second)
    {
        var clock = new HookedTimeProvider(new FakeTimeProvider());
        using var scope = new TimerScope(clock);
        var fired = 0;
        var timer = scope.After(TimeSpan.FromMinutes(10), () => Interlocked.Increment(ref fired));
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        if (overlap)
        {
            holdFirst(clock, () =>
            {
                entered.Set();
                release.WaitBounded();
            });
        }

        var firstChange = Run(() => timer.Change(first.Due, first.Period));
        if (overlap)
        {
            entered.WaitBounded();
        }
        else
        {
            await firstChange.Done.Bounded();
        }

        var secondChange = Run(() => timer.Change(second.Due, second.Period));
        WaitUntilDoneOrBlocked(secondChange);
        release.Set();

        Assert.True(await firstChange.Done.Bounded());
        Assert.True(await secondChange.Done.Bounded());
        clock.Inner.Advance(second.Due - TimeSpan.FromSeconds(1));
        Assert.Equal(0, Volatile.Read(ref fired));
        clock.Inner.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal((1, false, 0), (Volatile.Read(ref fired), timer.IsActive, scope.ActiveCount));
        clock.Inner.Advance(TimeSpan.FromMinutes(20));
        Assert.Equal(1, Volatile.Read(ref fired));
    }

    // A change on a thread of its own: the test sees whether it is blocked.
    private static (Thread Thread, Task<bool> Done) Run(Func<bool> change)
    {
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.SetResult(change());
            }
#pragma warning disable CA1031 // Handed to the test through the task.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                done.SetException(ex);
            }
        })
        {
            IsBackground = true,
        };
        thread.Start();
        return (thread, done.Task);
    }

    // The change either returned while the other was held (what serialized changes never do) or waits for it.
    private static void WaitUntilDoneOrBlocked((Thread Thread, Task<bool> Done) change) =>
        Assert.True(
            SpinWait.SpinUntil(() => change.Done.IsCompleted || (change.Thread.ThreadState & ThreadState.WaitSleepJoin) != 0, TestTimeouts.Bound),
            "the second change neither returned nor blocked");
}
