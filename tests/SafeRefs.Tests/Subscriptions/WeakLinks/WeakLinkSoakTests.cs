using System.ComponentModel;
using SafeRefs.Events;
using SafeRefs.Subscriptions;
using SafeRefs.Subscriptions.WeakLinks;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions.WeakLinks;

/// <summary>
/// "After Dispose returns, no invocation of the handler starts" for weak links (<see cref="DisposeRaceSoak"/>).
/// </summary>
[Collection(SoakCollection.Name)]
public sealed class WeakLinkSoakTests
{
    [Fact]
    public void SubscribeWeakEvent_NoInvocationStartsAfterDisposeReturned()
    {
        var source = new TestSource();
        var (rounds, violations) = Run(
            () => source.RaiseValued(1),
            round => Subscribe.WeakEvent<TestSource, DisposeRaceRound, int>(
                source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, round, static (r, _, _) => r.Invoked()));
        Assert.True(rounds >= 100, $"only {rounds} rounds ran");
        Assert.Equal(0, violations);
        Assert.Equal(0, source.ValuedCount);
    }

    [Fact]
    public void WeakSubscriptionsOnPropertyChanged_NoInvocationStartsAfterDisposeReturned()
    {
        var model = new Model();
        var (rounds, violations) = Run(
            model.Raise,
            round => WeakSubscriptions.OnPropertyChanged(model, round, static (r, _, _) => r.Invoked()));
        Assert.True(rounds >= 100, $"only {rounds} rounds ran");
        Assert.Equal(0, violations);
    }

    private static (int Rounds, int Violations) Run(Action raise, Func<DisposeRaceRound, Subscription> subscribe) =>
        DisposeRaceSoak.Run(raise, subscribe, static token => ((WeakLink)token).RunningCount);

    private sealed class Model : INotifyPropertyChanged
    {
        private static readonly PropertyChangedEventArgs Args = new("Value");
        private readonly Lock _lock = new();
        private PropertyChangedEventHandler? _changed;

        public event PropertyChangedEventHandler? PropertyChanged
        {
            add
            {
                lock (_lock)
                {
                    _changed += value;
                }
            }

            remove
            {
                lock (_lock)
                {
                    _changed -= value;
                }
            }
        }

        public void Raise() => Volatile.Read(ref _changed)?.Invoke(this, Args);
    }
}
