using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// Model-based: random sequences of subscribe (alone or into a bag) / dispose (sometimes twice) / raise / bag-dispose
/// on a real .NET event, checked against a list of live flags after every step.
/// </summary>
public sealed class SubscribePropertyTests
{
    private const int Kinds = 6;

    [Property(MaxTest = 300)]
    public Property Event_RandomOperations_MatchModel()
    {
        var ops = Gen.ArrayOf(Gen.Choose(0, (Kinds * 64) - 1)).ToArbitrary();
        return Prop.ForAll(ops, static codes => new Harness(maxListeners: 3).Run(codes));
    }

    private sealed class Harness(int maxListeners)
    {
        private readonly TestSource _source = new();
        private readonly ListenerBudget _budget = new(maxListeners);
        private readonly List<(Subscription Token, bool InBag)> _tokens = [];
        private readonly List<bool> _live = [];
        private SubscriptionBag _bag = new();
        private int _calls;
        private int _exceeded;
        private int _maxLiveSeen;

        public bool Run(int[] codes)
        {
            _budget.Exceeded += (_, _) => _exceeded++;
            foreach (var code in codes)
            {
                Step(code % Kinds, code / Kinds);
                Check();
            }

            _bag.Dispose();
            foreach (var (token, _) in _tokens)
            {
                token.Dispose();
            }

            return _source.ChangedCount == 0 && _budget.Count(_source, "Changed") == 0;
        }

        private void Step(int kind, int index)
        {
            switch (kind)
            {
                case 0:
                case 1:
                    var token = Subscribe.Event(
                        _source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => _calls++), _budget);
                    var inBag = kind == 1;
                    if (inBag)
                    {
                        token.DisposeWith(_bag);
                    }

                    _tokens.Add((token, inBag));
                    _live.Add(true);
                    break;
                case 2:
                case 3:
                    if (_tokens.Count > 0)
                    {
                        var i = index % _tokens.Count;
                        _tokens[i].Token.Dispose();
                        if (kind == 3)
                        {
                            _tokens[i].Token.Dispose();
                        }

                        _live[i] = false;
                    }

                    break;
                case 4:
                    var before = _calls;
                    _source.RaiseChanged();
                    Assert.Equal(LiveCount(), _calls - before);
                    break;
                default:
                    _bag.Dispose();
                    for (var i = 0; i < _tokens.Count; i++)
                    {
                        if (_tokens[i].InBag)
                        {
                            _live[i] = false;
                        }
                    }

                    _bag = new SubscriptionBag();
                    for (var i = 0; i < _tokens.Count; i++)
                    {
                        _tokens[i] = (_tokens[i].Token, false);
                    }

                    break;
            }
        }

        private void Check()
        {
            var live = LiveCount();
            _maxLiveSeen = Math.Max(_maxLiveSeen, live);
            Assert.Equal(live, _source.ChangedCount);
            Assert.Equal(live, _budget.Count(_source, "Changed"));
            Assert.Equal(_maxLiveSeen > maxListeners ? 1 : 0, _exceeded);
            for (var i = 0; i < _tokens.Count; i++)
            {
                Assert.Equal(_live[i], _tokens[i].Token.IsActive);
            }
        }

        private int LiveCount() => _live.Count(static l => l);
    }
}
