using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SafeRefs.Caching;
using SafeRefs.Caching.Internal;

namespace SafeRefs.Tests.Caching;

/// <summary>
/// Model-based: random operation sequences replayed against the cache and a dictionary model, checked after every
/// step. With observers attached the model is exact (every entry that leaves is reported, so the model knows the
/// contents); without them (the lock-free in-place update path) the snapshot must be the model minus evictions.
/// Below <see cref="CachePolicy{TKey, TValue}.WriteOrderBelow"/> the model also knows the victims (the least recently
/// written keys, as the cache keeps write order there); at that capacity, the cache starts full of other keys, so every
/// insert goes through the frequency policy.
/// </summary>
public sealed class BoundedLruCachePropertyTests
{
    private const int KeyRange = 16;

    private enum Op
    {
        TryGet,
        Set,
        GetOrAdd,
        TryRemoveOut,
        TryRemove,
        Clear,
        TryUpdate,
        AddOrUpdate,
        TryRemovePair,
        Trim,
        AltTryGet,
        AltTryRemove,
        AltAddOrUpdate,
        AltTryUpdate,
        AltGetOrAdd,
    }

    // Keys drawn from a small range so hits, replacements and evictions all happen; Clear is rare.
    private static Arbitrary<(Op Op, int Key, int Arg)[]> Operations()
    {
        var op = Gen.Frequency(
            (20, Gen.Constant(Op.TryGet)),
            (20, Gen.Constant(Op.Set)),
            (12, Gen.Constant(Op.GetOrAdd)),
            (5, Gen.Constant(Op.TryRemoveOut)),
            (3, Gen.Constant(Op.TryRemove)),
            (1, Gen.Constant(Op.Clear)),
            (8, Gen.Constant(Op.TryUpdate)),
            (6, Gen.Constant(Op.AddOrUpdate)),
            (5, Gen.Constant(Op.TryRemovePair)),
            (3, Gen.Constant(Op.Trim)),
            (8, Gen.Constant(Op.AltTryGet)),
            (3, Gen.Constant(Op.AltTryRemove)),
            (4, Gen.Constant(Op.AltAddOrUpdate)),
            (4, Gen.Constant(Op.AltTryUpdate)),
            (4, Gen.Constant(Op.AltGetOrAdd)));
        var step = from o in op
                   from k in Gen.Choose(0, KeyRange - 1)
                   from a in Gen.Choose(0, 4)
                   select (o, k, a);
        return Gen.ArrayOf(step).ToArbitrary();
    }

    private const int FrequencyPolicyCapacity = CachePolicy<string, string>.WriteOrderBelow;

    // A capacity (small ones keep write order; the smallest of the frequency policy starts full), and the most buckets
    // the key index starts with: 1 makes it grow (1, 2, 4, 8, 16) while the steps run, a few nodes per insert, so that
    // every operation also runs while a migration of the index is under way.
    private static Arbitrary<(int Capacity, int MaxInitialBuckets)> Sizes()
        => (from capacity in Gen.Frequency((3, Gen.Choose(1, 12)), (1, Gen.Constant(FrequencyPolicyCapacity)))
            from buckets in Gen.Elements(1, CacheTable<string, string>.MaxInitialBuckets)
            select (capacity, buckets)).ToArbitrary();

    [Property(MaxTest = 300)]
    public Property RandomOperations_WithObservers_MatchExactModelAfterEveryStep()
        => Prop.ForAll(Sizes(), Operations(), (size, operations) => Replay(size.Capacity, operations, observe: true, size.MaxInitialBuckets) is null);

    [Property(MaxTest = 300)]
    public Property RandomOperations_WithoutObservers_MatchModelAfterEveryStep()
        => Prop.ForAll(Sizes(), Operations(), (size, operations) => Replay(size.Capacity, operations, observe: false, size.MaxInitialBuckets) is null);

    [Fact]
    public void Replay_KnownSequence_HasNoMismatch()
    {
        // A deterministic sequence that touches every operation, so a broken replayer cannot pass vacuously.
        var operations = Enumerable.Range(0, 400).Select(i => ((Op)(i % 15), (i * 7) % KeyRange, i % 5)).ToArray();
        Assert.Null(Replay(3, operations, observe: true));
        Assert.Null(Replay(3, operations, observe: false));
        Assert.Null(Replay(12, operations, observe: true, maxInitialBuckets: 1));
        Assert.Null(Replay(12, operations, observe: false, maxInitialBuckets: 1));
        Assert.Null(Replay(FrequencyPolicyCapacity, operations, observe: true));
        Assert.Null(Replay(FrequencyPolicyCapacity, operations, observe: false));
    }

    /// <summary>Replays <paramref name="operations"/>; returns a description of the first mismatch, or null.</summary>
    private static string? Replay(int capacity, (Op Op, int Key, int Arg)[] operations, bool observe, int maxInitialBuckets = CacheTable<string, string>.MaxInitialBuckets)
    {
        using var cache = new BoundedLruCache<string, string>(new BoundedLruCacheOptions<string, string> { Capacity = capacity }, maxInitialBuckets);
        var model = new Dictionary<string, string>();
        var left = new List<(string Key, string Value, CacheEvictionReason Reason)>();
        var updates = new List<(string Key, string Old, string New)>();
        if (observe)
        {
            cache.Evicted += (_, e) => left.Add((e.Key, e.Value, e.Reason));
            cache.Updated += (_, e) => updates.Add((e.Key, e.OldValue, e.NewValue));
        }

        var writeOrder = new LinkedList<string>(); // keys by last write, most recent first
        var keepsWriteOrder = capacity < CachePolicy<string, string>.WriteOrderBelow;
        if (!keepsWriteOrder)
        {
            for (var i = 0; i < capacity; i++)
            {
                cache.Set("p" + i, "p" + i);
                model["p" + i] = "p" + i;
            }
        }

        var alternate = cache.GetAlternateLookup<ReadOnlySpan<char>>();
        long lookups = 0;
        long evictions = 0;
        var version = 0;
        for (var step = 0; step < operations.Length; step++)
        {
            var (op, k, arg) = operations[step];
            var key = "k" + k;
            var span = ("#" + key).AsSpan(1); // a span over another string: found by content, not by reference
            var fresh = $"{key}:{version++}";
            var had = model.TryGetValue(key, out var current);
            var before = new Dictionary<string, string>(model);
            string? written = null; // the value the key must hold after the step, if any
            var removed = new HashSet<string>();
            string? fail = null;
            left.Clear();
            updates.Clear();

            switch (op)
            {
                case Op.TryGet:
                    lookups++;
                    fail = Expect(cache.TryGet(key, out var got) == had && (!had || got == current), "TryGet");
                    break;
                case Op.AltTryGet:
                    lookups++;
                    fail = Expect(alternate.TryGet(span, out var actual, out var altGot) == had && (!had || (altGot == current && actual == key)), "alternate TryGet");
                    break;
                case Op.Set:
                    cache.Set(key, fresh);
                    written = fresh;
                    break;
                case Op.AddOrUpdate:
                    cache.AddOrUpdate(key, fresh);
                    written = fresh;
                    break;
                case Op.AltAddOrUpdate:
                    alternate.AddOrUpdate(span, fresh);
                    written = fresh;
                    break;
                case Op.TryUpdate:
                    fail = Expect(cache.TryUpdate(key, fresh) == had, "TryUpdate");
                    written = had ? fresh : null;
                    break;
                case Op.AltTryUpdate:
                    fail = Expect(alternate.TryUpdate(span, fresh) == had, "alternate TryUpdate");
                    written = had ? fresh : null;
                    break;
                case Op.GetOrAdd:
                    lookups++;
                    fail = Expect(cache.GetOrAdd(key, _ => fresh) == (had ? current : fresh), "GetOrAdd");
                    written = had ? current : fresh;
                    break;
                case Op.AltGetOrAdd:
                    lookups++;
                    fail = Expect(alternate.GetOrAdd(span, created => created == key ? fresh : "wrong key") == (had ? current : fresh), "alternate GetOrAdd");
                    written = had ? current : fresh;
                    break;
                case Op.TryRemoveOut:
                    fail = Expect(cache.TryRemove(key, out var removedValue) == had && (!had || removedValue == current), "TryRemove(key, out value)");
                    removed.Add(key);
                    break;
                case Op.TryRemove:
                    fail = Expect(cache.TryRemove(key) == had, "TryRemove(key)");
                    removed.Add(key);
                    break;
                case Op.AltTryRemove:
                    fail = Expect(alternate.TryRemove(span, out var removedKey, out var altRemoved) == had && (!had || (altRemoved == current && removedKey == key)), "alternate TryRemove");
                    removed.Add(key);
                    break;
                case Op.TryRemovePair:
                    var candidate = arg % 2 == 0 && had ? current! : fresh; // the right value, or one it never held
                    var matches = had && candidate == current;
                    fail = Expect(cache.TryRemove(new KeyValuePair<string, string>(key, candidate)) == matches, "TryRemove(pair)");
                    if (matches)
                    {
                        removed.Add(key);
                    }

                    break;
                case Op.Trim:
                    var trimmed = cache.Trim(arg);
                    fail = Expect(trimmed == Math.Min(arg, before.Count), $"Trim({arg}) returned {trimmed} of {before.Count}");
                    break;
                default:
                    cache.Clear();
                    removed.UnionWith(before.Keys);
                    break;
            }

            if (fail is not null)
            {
                return $"step {step} {op} {key}: {fail}";
            }

            // Apply the step to the model.
            foreach (var r in removed)
            {
                model.Remove(r);
            }

            if (written is not null)
            {
                model[key] = written;
            }

            // Entries that left without being asked to: with observers, exactly what the events say; without, what
            // the snapshot lacks. Either way at most one per inserting write, none for other steps.
            var snapshot = cache.ToDictionary(p => p.Key, p => p.Value);
            var evictedNow = observe
                ? left.Where(e => e.Reason is CacheEvictionReason.Capacity or CacheEvictionReason.Trimmed).Select(e => e.Key).ToList()
                : model.Keys.Where(mk => !snapshot.ContainsKey(mk)).ToList();
            var inserted = written is not null && !had;
            var allowed = op == Op.Trim ? Math.Min(arg, before.Count) : inserted ? 1 : 0;
            if (keepsWriteOrder)
            {
                // The victims are the least recently written keys (a Trim's, or the one a write into a full cache evicts).
                var expected = writeOrder.Where(w => !removed.Contains(w)).Reverse()
                    .Take(op == Op.Trim ? allowed : inserted && before.Count >= capacity ? 1 : 0);
                if (!evictedNow.ToHashSet().SetEquals(expected))
                {
                    return $"step {step} {op} {key}: evicted [{string.Join(",", evictedNow)}], the least recently written are [{string.Join(",", expected)}]";
                }

                var rewritten = op is Op.Set or Op.AddOrUpdate or Op.AltAddOrUpdate || (had ? op is Op.TryUpdate or Op.AltTryUpdate : op is Op.GetOrAdd or Op.AltGetOrAdd);
                foreach (var gone in removed.Concat(evictedNow))
                {
                    writeOrder.Remove(gone);
                }

                if (rewritten)
                {
                    writeOrder.Remove(key);
                    writeOrder.AddFirst(key);
                }
            }

            if (evictedNow.Count > allowed || (op == Op.Trim && evictedNow.Count != allowed) || evictedNow.Contains(key) && written is not null)
            {
                return $"step {step} {op} {key}: {evictedNow.Count} entries left ({string.Join(",", evictedNow)}), {allowed} allowed";
            }

            if (inserted && before.Count >= capacity && evictedNow.Count != 1)
            {
                return $"step {step} {op} {key}: a write into a full cache evicted {evictedNow.Count} entries";
            }

            foreach (var e in evictedNow)
            {
                model.Remove(e);
            }

            evictions += op == Op.Trim ? 0 : evictedNow.Count;

            if (observe && (fail = CheckEvents(op, key, before, current, written, removed, left, updates)) is not null)
            {
                return $"step {step} {op} {key}: {fail}";
            }

            // The cache holds exactly the model, at every step.
            var stats = cache.Statistics;
            if (cache.Count != model.Count || snapshot.Count != model.Count || cache.Keys.Count != model.Count
                || model.Any(m => !snapshot.TryGetValue(m.Key, out var v) || v != m.Value)
                || !cache.Keys.ToHashSet().SetEquals(model.Keys)
                || cache.Count > capacity
                || stats.Hits + stats.Misses != lookups
                || stats.Evictions != evictions)
            {
                return $"step {step} {op} {key}: cache [{string.Join(",", snapshot.Select(p => p.Key + "=" + p.Value))}] Count {cache.Count}, model [{string.Join(",", model.Select(p => p.Key + "=" + p.Value))}], lookups {stats.Hits + stats.Misses}/{lookups}, evictions {stats.Evictions}/{evictions}";
            }
        }

        return null;
    }

    /// <summary>The notifications of one step: an update reports the old and new value (and the old one as
    /// Replaced); a removal, trim or clear reports each entry that left once, with its value.</summary>
    private static string? CheckEvents(
        Op op,
        string key,
        Dictionary<string, string> before,
        string? current,
        string? written,
        HashSet<string> removed,
        List<(string Key, string Value, CacheEvictionReason Reason)> left,
        List<(string Key, string Old, string New)> updates)
    {
        var isUpdate = written is not null && current is not null && written != current;
        if (isUpdate != (updates.Count == 1) || updates.Count > 1
            || (isUpdate && updates[0] != (key, current!, written!)))
        {
            return $"updates [{string.Join(",", updates)}], expected {(isUpdate ? $"({key}, {current}, {written})" : "none")}";
        }

        var replaced = left.Where(e => e.Reason == CacheEvictionReason.Replaced).ToList();
        if (replaced.Count != (isUpdate ? 1 : 0) || (isUpdate && replaced[0] != (key, current!, CacheEvictionReason.Replaced)))
        {
            return $"Replaced events [{string.Join(",", replaced)}]";
        }

        foreach (var (k, v, reason) in left)
        {
            if (reason != CacheEvictionReason.Replaced && (!before.TryGetValue(k, out var held) || held != v))
            {
                return $"{reason} reported {k}={v}, which the cache did not hold";
            }
        }

        var expectedReason = op == Op.Clear ? CacheEvictionReason.Cleared : CacheEvictionReason.Removed;
        var explicitLeft = left.Where(e => e.Reason is CacheEvictionReason.Removed or CacheEvictionReason.Cleared).ToList();
        var expectedLeft = removed.Where(before.ContainsKey).ToHashSet();
        if (explicitLeft.Count != expectedLeft.Count || explicitLeft.Any(e => e.Reason != expectedReason || !expectedLeft.Contains(e.Key)))
        {
            return $"removal events [{string.Join(",", explicitLeft)}], expected {expectedReason} for [{string.Join(",", expectedLeft)}]";
        }

        return null;
    }

    private static string? Expect(bool condition, string what) => condition ? null : what + " returned a result the model contradicts";
}
