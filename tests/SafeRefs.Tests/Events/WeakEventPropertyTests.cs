using System.Runtime.CompilerServices;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SafeRefs.Events;
using SafeRefs.Subscriptions;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

[Collection(GcCollection.Name)]
public sealed class WeakEventPropertyTests
{
    // Add/Remove with strongly held subscribers: compare against a real multicast delegate.
    [Property(MaxTest = 300)]
    public Property AddRemove_StrongSubscribers_MatchMulticastDelegate()
    {
        var ops = Gen.ArrayOf(Gen.Choose(0, 99)).ToArbitrary();
        return Prop.ForAll(ops, codes =>
        {
            var actualLog = new List<int>();
            var expectedLog = new List<int>();
            var actualTargets = Enumerable.Range(0, 3).Select(i => new Tagged(actualLog, i)).ToArray();
            var expectedTargets = Enumerable.Range(0, 3).Select(i => new Tagged(expectedLog, i)).ToArray();
            var source = new WeakEvent<int>();
            EventHandler<int>? multicast = null;
            foreach (var code in codes)
            {
                var i = code % 3;
                var j = (code / 3) % 3;
                switch (code % 5)
                {
                    case 0:
                        source.Add(Pick(actualTargets, i, code));
                        multicast += Pick(expectedTargets, i, code);
                        break;
                    case 1:
                        source.Remove(Pick(actualTargets, i, code));
                        multicast -= Pick(expectedTargets, i, code);
                        break;
                    case 2:
                        source.Add(Pick(actualTargets, i, code) + Pick(actualTargets, j, code / 7));
                        multicast += Pick(expectedTargets, i, code) + Pick(expectedTargets, j, code / 7);
                        break;
                    case 3:
                        source.Remove(Pick(actualTargets, i, code) + Pick(actualTargets, j, code / 7));
                        multicast -= Pick(expectedTargets, i, code) + Pick(expectedTargets, j, code / 7);
                        break;
                    default:
                        source.Raise(null, code);
                        multicast?.Invoke(null, code);
                        break;
                }

                if (!actualLog.SequenceEqual(expectedLog) || source.Count != (multicast?.GetInvocationList().Length ?? 0))
                {
                    return false;
                }
            }

            return true;
        });
    }

    // Every mode, with drops, GCs and disposals: each raise invokes exactly the registered, reachable subscribers, once, in order.
    [Property(MaxTest = 40)]
    public Property AllModes_RaiseInvokesExactlyReachableRegisteredHandlersInOrder()
    {
        var ops = Gen.ArrayOf(Gen.Choose(0, 999)).Select(a => a.Take(30).ToArray()).ToArbitrary();
        return Prop.ForAll(ops, codes => new Harness().Run(codes));
    }

    private static EventHandler<int> Pick(Tagged[] targets, int i, int code) =>
        (code & 8) == 0 ? targets[i].OnA : targets[i].OnB;

    private sealed class Tagged(List<int> log, int id)
    {
        public void OnA(object? sender, int e) => log.Add(id * 2);

        public void OnB(object? sender, int e) => log.Add((id * 2) + 1);
    }

    private sealed class Subscriber(List<int> log, int id)
    {
        public int Id => id;

        public void On(object? sender, int e) => log.Add(id);
    }

    /// <summary>Holds subscribers in its own array so that dropping one really leaves it unreachable.</summary>
    private sealed class Harness
    {
        private const int Slots = 6;
        private readonly List<int> _log = [];
        private readonly WeakEvent<int> _source = new();
        private readonly Subscriber?[] _roots = new Subscriber?[Slots];
        private readonly List<Registration> _model = [];
        private int _nextId;

        public bool Run(int[] codes)
        {
            foreach (var code in codes)
            {
                var slot = code % Slots;
                switch ((code / Slots) % 7)
                {
                    case 0:
                        NewSubscriber(slot, RegistrationMode.Add);
                        break;
                    case 1:
                        NewSubscriber(slot, RegistrationMode.SubscribeStatic);
                        break;
                    case 2:
                        NewSubscriber(slot, RegistrationMode.SubscribeCapturing);
                        break;
                    case 3:
                        DisposeOrRemove(slot);
                        break;
                    case 4:
                        Drop(slot);
                        break;
                    case 5:
                        GcAssert.FullCollect();
                        foreach (var r in _model)
                        {
                            r.Collected |= r.Dropped;
                        }

                        break;
                    default:
                        if (!RaiseAndCheck())
                        {
                            return false;
                        }

                        break;
                }
            }

            return RaiseAndCheck();
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void NewSubscriber(int slot, RegistrationMode mode)
        {
            Drop(slot);
            var id = _nextId++;
            var subscriber = new Subscriber(_log, id);
            _roots[slot] = subscriber;
            var registration = new Registration(id, slot, mode);
            switch (mode)
            {
                case RegistrationMode.Add:
                    _source.Add(subscriber.On);
                    break;
                case RegistrationMode.SubscribeStatic:
                    registration.Token = _source.Subscribe(subscriber, static (s, sender, e) => s.On(sender, e));
                    break;
                default:
                    registration.Token = SubscribeCapturing(_source, subscriber, _log);
                    break;
            }

            _model.Add(registration);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static Subscription SubscribeCapturing(WeakEvent<int> source, Subscriber subscriber, List<int> log) =>
            source.Subscribe(subscriber, (_, _, _) => log.Add(subscriber.Id));

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void DisposeOrRemove(int slot)
        {
            var registration = _model.LastOrDefault(r => r.Slot == slot && !r.Dropped && !r.Unregistered);
            if (registration is null)
            {
                return;
            }

            registration.Unregistered = true;
            if (registration.Token is { } token)
            {
                token.Dispose();
            }
            else
            {
                _source.Remove(_roots[slot]!.On);
            }
        }

        private void Drop(int slot)
        {
            _roots[slot] = null;
            foreach (var r in _model)
            {
                if (r.Slot == slot)
                {
                    r.Dropped = true;
                }
            }
        }

        private bool RaiseAndCheck()
        {
            _log.Clear();
            _source.Raise(null, 0);
            var mustRun = _model.Where(r => !r.Unregistered && !r.Dropped).Select(r => r.Id).ToList();
            var mayRun = _model.Where(r => !r.Unregistered && !r.Collected).Select(r => r.Id).ToHashSet();

            // In order, at most once each, only registered and not yet collected, and every reachable one.
            if (_log.Distinct().Count() != _log.Count || !_log.All(mayRun.Contains) || !_log.SequenceEqual(_log.Order()))
            {
                return false;
            }

            return mustRun.All(_log.Contains);
        }
    }

    private enum RegistrationMode
    {
        Add,
        SubscribeStatic,
        SubscribeCapturing,
    }

    private sealed class Registration(int id, int slot, RegistrationMode mode)
    {
        public int Id => id;

        public int Slot => slot;

        public RegistrationMode Mode => mode;

        public Subscription? Token { get; set; }

        public bool Dropped { get; set; }

        public bool Collected { get; set; }

        public bool Unregistered { get; set; }
    }
}
