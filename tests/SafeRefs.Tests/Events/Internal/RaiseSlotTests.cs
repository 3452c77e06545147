using SafeRefs.Events.Internal;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events.Internal;

/// <summary>
/// A raise takes its slot with its first announcement and gives it back in one step: what the disposers of its
/// entries read at each point.
/// </summary>
public sealed class RaiseSlotTests
{
    [Fact]
    public void Take_AnnouncesTheFirstEntry_AndHoldsTheSlotUntilRelease()
    {
        var slots = new RaiseSlots();
        var slot = slots.Take(3);

        Assert.True(slot.IsChecking(3));
        Assert.False(slot.TryTake(5)); // held by the raise: a second raise gets a slot of its own
        var other = slots.Take(5);
        Assert.NotSame(slot, other);
        Assert.True(other.IsChecking(5));

        slot.Call(3);
        Assert.True(slot.IsCalling(3));
        Assert.Equal(1, slots.CallingCount(3));
        slot.Release();
        Assert.False(slot.IsCalling(3));
        Assert.Equal(0, slots.CallingCount(3));
        other.Skip();
        other.Release();

        Assert.Same(slot, slots.Take(7)); // given back: the next raise reuses it
        Assert.True(slot.IsChecking(7));
    }

    [Fact]
    public void Release_AfterSkip_FreesTheSlot()
    {
        var slots = new RaiseSlots();
        var slot = slots.Take(3);
        slot.Skip();
        slot.Release();

        Assert.False(slot.IsChecking(3));
        Assert.True(slot.TryTake(4));
        Assert.True(slot.IsChecking(4));
    }

    [Fact]
    public async Task Release_WhileCalling_WakesAWaiter()
    {
        var slots = new RaiseSlots();
        var entry = WeakHandlerEntry.ForOwner(new object(), static () => { });
        try
        {
            var slot = slots.Take(3);
            slot.Call(3);
            var idle = slots.WhenNotCallingAsync(entry, 3).AsTask();
            Assert.False(idle.IsCompleted);

            slot.Release();

            await idle.Bounded();
        }
        finally
        {
            entry.Release(); // frees its handles
        }
    }
}
