using SafeRefs.Events;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// A bag holding two <see cref="AsyncWeakEvent{TArgs}"/> tokens. The later one's handler can be held running (awaiting)
/// while the earlier one's event is raised, to see whether a disposal in between has already detached the earlier token.
/// </summary>
internal sealed class BagOfTwoHandlers
{
    private readonly AsyncWeakEvent<int> _earlier = new();
    private readonly AsyncWeakEvent<int> _later = new();
    private readonly object _owner = new();
    private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _raisingLater = Task.CompletedTask;
    private int _earlierStarts;

    public BagOfTwoHandlers(SubscriptionBag bag)
    {
        Bag = bag;
        bag.Add(_earlier.Subscribe(_owner, (_, _, _, _) =>
        {
            Interlocked.Increment(ref _earlierStarts);
            return default;
        }));
        bag.Add(_later.Subscribe(_owner, async (_, _, _, _) =>
        {
            _entered.TrySetResult();
            await _release.Task.ConfigureAwait(false);
        }));
    }

    public SubscriptionBag Bag { get; }

    /// <summary>Raises the later event; completes once its handler runs (it awaits until <see cref="ReleaseAsync"/>).</summary>
    public async Task StartLaterHandlerAsync()
    {
        _raisingLater = _later.RaiseAsync(null, 1).AsTask();
        await _entered.Task.Bounded();
    }

    /// <summary>Raises the earlier event and returns how many times its handler has started so far.</summary>
    public async Task<int> RaiseEarlierAsync()
    {
        await _earlier.RaiseAsync(null, 1).AsTask().Bounded();
        return Volatile.Read(ref _earlierStarts);
    }

    /// <summary>Lets the later handler return and waits for its raise to complete.</summary>
    public async Task ReleaseAsync()
    {
        _release.TrySetResult();
        await _raisingLater.Bounded();
    }
}
