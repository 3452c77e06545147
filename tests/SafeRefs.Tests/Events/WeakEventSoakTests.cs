using SafeRefs.Events;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

[Collection(SoakCollection.Name)]
public sealed class WeakEventSoakTests
{
    private const int Raisers = 2;
    private const int Rounds = 2_000;

    [Fact]
    public void ConcurrentRaiseAddDispose_NoExceptionNoLostHandlerNoStartAfterDispose()
    {
        var source = new WeakEvent<int>();
        var stable = new Probe();
        source.Add(stable.On); // a handler that must never be lost
        long raiseSequence = 0;
        var violations = 0;
        var errors = new List<Exception>();
        var expectedStableCalls = 0L;

        void Raiser()
        {
            for (var i = 0; i < Rounds; i++)
            {
                var sequence = Interlocked.Increment(ref raiseSequence);
                Probe.CurrentRaise = sequence;
                source.Raise(null, i);
                Interlocked.Increment(ref expectedStableCalls);
            }
        }

        void Churner()
        {
            var owners = new Probe[8];
            for (var i = 0; i < Rounds; i++)
            {
                var owner = new Probe();
                var token = source.Subscribe(owner, static (o, s, e) => o.On(s, e));
                EventHandler<int> added = owner.On;
                source.Add(added);
                owners[i % owners.Length] = owner;
                token.Dispose();
                source.Remove(added);

                // After Dispose returned (and Remove), no raise that starts later may invoke this owner.
                owner.DisposedAfterRaise = Interlocked.Read(ref raiseSequence);
            }
        }

        var threads = new List<Thread>();
        for (var t = 0; t < Raisers; t++)
        {
            threads.Add(new Thread(() => Run(Raiser)));
        }

        threads.Add(new Thread(() => Run(Churner)));
        threads.Add(new Thread(() => Run(Churner)));
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.JoinBounded());

        Assert.Empty(errors);
        Assert.Equal(0, Volatile.Read(ref violations) + Probe.Violations);
        Assert.Equal(expectedStableCalls, stable.Calls);
        Assert.Equal(1, source.Count);
        Assert.True(source.StoredCount <= 1 + 4 + 2, $"stored {source.StoredCount}");
        GC.KeepAlive(stable);

        void Run(Action body)
        {
            try
            {
                body();
            }
            catch (Exception ex)
            {
                lock (errors)
                {
                    errors.Add(ex);
                }
            }
        }
    }

    private sealed class Probe
    {
        [ThreadStatic]
        private static long _currentRaise;

        private static int _violations;
        private long _disposedAfterRaise = long.MaxValue;
        private long _calls;

        public static long CurrentRaise
        {
            get => _currentRaise;
            set => _currentRaise = value;
        }

        public static int Violations => Volatile.Read(ref _violations);

        public long DisposedAfterRaise
        {
            get => Interlocked.Read(ref _disposedAfterRaise);
            set => Interlocked.Exchange(ref _disposedAfterRaise, value);
        }

        public long Calls => Interlocked.Read(ref _calls);

        public void On(object? sender, int e)
        {
            Interlocked.Increment(ref _calls);
            if (_currentRaise > DisposedAfterRaise)
            {
                Interlocked.Increment(ref _violations);
            }
        }
    }
}
