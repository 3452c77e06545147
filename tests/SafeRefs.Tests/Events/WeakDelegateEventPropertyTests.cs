using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SafeRefs.Events;
using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Events;

/// <summary>
/// Model-based: a random sequence of <c>Add</c>, <c>Remove</c> (single and multicast), <c>Subscribe</c> and token
/// <c>Dispose</c> on a <see cref="WeakDelegateEvent{TDelegate}"/>, replayed against a plain list model; after every step
/// a raise must call exactly the model's handlers, in order, and <c>Count</c> must agree. Subscribers are held by the
/// test (collection is covered by the GC tests).
/// </summary>
public sealed class WeakDelegateEventPropertyTests
{
    [Property(MaxTest = 300)]
    public Property Operations_MatchTheModelAfterEveryStep()
    {
        var ops = Gen.ArrayOf(Gen.Choose(0, 9999)).Select(static a => a.Take(40).ToArray()).ToArbitrary();
        return Prop.ForAll(ops, static codes => new Harness().Run(codes));
    }

    [Property(MaxTest = 100)]
    public Property Operations_MatchTheModel_WithAnExceptionHandlerThatHandlesEverything()
    {
        // The guarded raise loop (taken when options observe exceptions) must keep the same semantics.
        var ops = Gen.ArrayOf(Gen.Choose(0, 9999)).Select(static a => a.Take(40).ToArray()).ToArbitrary();
        return Prop.ForAll(ops, static codes => new Harness(new WeakEventOptions { ExceptionHandler = static _ => true }).Run(codes));
    }

    private sealed class Harness(WeakEventOptions? options = null)
    {
        private readonly List<int> _log = [];
        private readonly WeakDelegateEvent<EventHandler> _source = new(options);
        private readonly List<Registration> _model = [];
        private readonly List<(Registration Registration, Subscription Token)> _tokens = [];
        private Tagged[]? _targets;
        private int _nextSubscription;

        public bool Run(int[] codes)
        {
            foreach (var code in codes)
            {
                Step(code);
                if (!Check())
                {
                    return false;
                }
            }

            return true;
        }

        private Tagged[] Targets => _targets ??= [new Tagged(_log, 0), new Tagged(_log, 1), new Tagged(_log, 2)];

        private EventHandler Pick(int code) => (code / 3) % 2 == 0 ? Targets[code % 3].OnA : Targets[code % 3].OnB;

        private static int KeyOf(EventHandler handler) => ((Tagged)handler.Target!).Key(handler.Method.Name);

        private void Step(int code)
        {
            var a = Pick(code / 10);
            var b = Pick(code / 60);
            switch (code % 10)
            {
                case 0:
                case 1:
                    _source.Add(a);
                    _model.Add(Registration.ForAdd(KeyOf(a)));
                    break;
                case 2:
                case 3:
                    _source.Remove(a);
                    RemoveRun([KeyOf(a)]);
                    break;
                case 4:
                    _source.Add(a + b);
                    _model.Add(Registration.ForAdd(KeyOf(a)));
                    _model.Add(Registration.ForAdd(KeyOf(b)));
                    break;
                case 5:
                    _source.Remove(a + b);
                    RemoveRun([KeyOf(a), KeyOf(b)]);
                    break;
                case 6:
                case 7:
                    Subscribe(code);
                    break;
                default:
                    DisposeOne(code / 10);
                    break;
            }
        }

        private void Subscribe(int code)
        {
            var key = 100 + _nextSubscription++;
            var owner = Targets[(code / 10) % 3];
            var log = _log;
            var token = (code / 10) % 2 == 0
                ? _source.Subscribe(owner, (_, _) => log.Add(key))       // captures: owner-bound
                : _source.Subscribe(owner, new Keyed(log, key).On);      // a plain target: held as long as the owner
            var registration = Registration.ForSubscribe(key);
            _model.Add(registration);
            _tokens.Add((registration, token));
        }

        private void DisposeOne(int pick)
        {
            if (_tokens.Count == 0)
            {
                return;
            }

            var (registration, token) = _tokens[pick % _tokens.Count];
            token.Dispose(); // a second Dispose of the same token must do nothing
            registration.Disposed = true;
        }

        /// <summary><see cref="Delegate.Remove"/> on the Add-mode registrations: the last contiguous run of the keys.</summary>
        private void RemoveRun(int[] run)
        {
            var adds = _model.Where(static r => r.IsAdd).ToList();
            for (var start = adds.Count - run.Length; start >= 0; start--)
            {
                if (run.Select((key, k) => adds[start + k].Key == key).All(static m => m))
                {
                    for (var k = 0; k < run.Length; k++)
                    {
                        _model.Remove(adds[start + k]);
                    }

                    return;
                }
            }
        }

        private bool Check()
        {
            _log.Clear();
            _source.Raise(null, EventArgs.Empty);
            var expected = _model.Where(static r => !r.Disposed).Select(static r => r.Key).ToList();
            return _log.SequenceEqual(expected) && _source.Count == expected.Count;
        }
    }

    private sealed class Registration
    {
        private Registration(int key, bool isAdd)
        {
            Key = key;
            IsAdd = isAdd;
        }

        public int Key { get; }

        public bool IsAdd { get; }

        public bool Disposed { get; set; }

        public static Registration ForAdd(int key) => new(key, isAdd: true);

        public static Registration ForSubscribe(int key) => new(key, isAdd: false);
    }

    private sealed class Tagged(List<int> log, int id)
    {
        public int Key(string method) => (id * 2) + (method == nameof(OnA) ? 0 : 1);

        public void OnA(object? sender, EventArgs e) => log.Add(id * 2);

        public void OnB(object? sender, EventArgs e) => log.Add((id * 2) + 1);
    }

    private sealed class Keyed(List<int> log, int key)
    {
        public void On(object? sender, EventArgs e) => log.Add(key);
    }
}
