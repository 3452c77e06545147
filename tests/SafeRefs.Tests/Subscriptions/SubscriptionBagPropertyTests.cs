using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// Model-based: random <c>Add</c>, <c>Remove</c> and <c>Dispose</c> on a <see cref="SubscriptionBag"/> holding
/// reference and value-type items (each possibly several times), replayed against a list model and checked after
/// every step: <c>Remove</c>'s result, <c>Count</c>, <c>IsDisposed</c>, and which items were disposed, in which order
/// (last in, first out; an item added to a disposed bag at once; a removed item never).
/// </summary>
public sealed class SubscriptionBagPropertyTests
{
    private const int Items = 5;

    [Property(MaxTest = 300)]
    public Property Operations_MatchTheModelAfterEveryStep()
    {
        var ops = Gen.ArrayOf(Gen.Choose(0, 999)).Select(static a => a.Take(60).ToArray()).ToArbitrary();
        return Prop.ForAll(ops, static codes =>
        {
            var disposed = new List<int>();
            var items = new IDisposable[Items];
            for (var i = 0; i < Items; i++)
            {
                // Three reference items (identity) and two value-type items (boxed anew on every call).
                items[i] = i < 3 ? new RefItem(disposed, i) : new ValueItem(disposed, i);
            }

            var bag = new SubscriptionBag();
            var model = new List<int>();
            var expectedDisposed = new List<int>();
            var isDisposed = false;
            foreach (var code in codes.Append(999))
            {
                var id = (code / 10) % Items;
                switch (code % 10)
                {
                    case < 5:
                        Add(bag, items[id]);
                        if (isDisposed)
                        {
                            expectedDisposed.Add(id);
                        }
                        else
                        {
                            model.Add(id);
                        }

                        break;
                    case < 9:
                        var expected = model.LastIndexOf(id);
                        if (bag.Remove(Fresh(items[id])) != expected >= 0)
                        {
                            return false;
                        }

                        if (expected >= 0)
                        {
                            model.RemoveAt(expected);
                        }

                        break;
                    default:
                        bag.Dispose();
                        if (!isDisposed)
                        {
                            expectedDisposed.AddRange(Enumerable.Reverse(model));
                            model.Clear();
                            isDisposed = true;
                        }

                        break;
                }

                if (bag.Count != model.Count || bag.IsDisposed != isDisposed || !disposed.SequenceEqual(expectedDisposed))
                {
                    return false;
                }
            }

            return true;
        });
    }

    // Through the generic Add, as a caller with a value-type variable would (boxed by the bag).
    private static void Add(SubscriptionBag bag, IDisposable item)
    {
        if (item is ValueItem value)
        {
            bag.Add(value);
        }
        else
        {
            bag.Add(item);
        }
    }

    // A value-type item is removed through a new box; a reference item through the same reference.
    private static IDisposable Fresh(IDisposable item) => item is ValueItem value ? value : item;

    private sealed class RefItem(List<int> log, int id) : IDisposable
    {
        public void Dispose() => log.Add(id);
    }

    private readonly struct ValueItem(List<int> log, int id) : IDisposable, IEquatable<ValueItem>
    {
        private readonly List<int> _log = log;
        private readonly int _id = id;

        public void Dispose() => _log.Add(_id);

        public bool Equals(ValueItem other) => ReferenceEquals(_log, other._log) && _id == other._id;

        public override bool Equals(object? obj) => obj is ValueItem other && Equals(other);

        public override int GetHashCode() => _id;
    }
}
