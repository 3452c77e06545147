using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

/// <summary>Model-based properties under <see cref="FakeTimeProvider"/>: operation codes replayed against a real scope and a model.</summary>
public sealed class TimerScopePropertyTests
{
    private const int Kinds = 7;

    [Property(MaxTest = 200)]
    public Property AnyMix_MatchesModel_AndNothingFiresAfterDispose()
    {
        var ops = Gen.ArrayOf(Gen.Choose(0, 1_000_000)).ToArbitrary();
        return Prop.ForAll(ops, codes =>
        {
            var clock = new FakeTimeProvider();
            var start = clock.GetUtcNow();
            var scope = new TimerScope(clock);
            var items = new List<Item>();
            long Now() => (long)(clock.GetUtcNow() - start).TotalMilliseconds;

            foreach (var code in codes)
            {
                var amount = (code / Kinds % 500) + 1;
                switch (code % Kinds)
                {
                    case 0:
                        {
                            var item = new Item(ItemKind.After, Now(), amount);
                            item.Timer = scope.After(TimeSpan.FromMilliseconds(amount), item.Fire);
                            items.Add(item);
                            break;
                        }

                    case 1:
                        {
                            var item = new Item(ItemKind.Every, Now(), amount);
                            item.Timer = scope.Every(TimeSpan.FromMilliseconds(amount), item.Fire);
                            items.Add(item);
                            break;
                        }

                    case 2:
                        {
                            var item = new Item(ItemKind.Delay, Now(), amount);
                            item.Delay = scope.Delay(TimeSpan.FromMilliseconds(amount));
                            items.Add(item);
                            break;
                        }

                    case 3:
                        {
                            var item = new Item(ItemKind.CancelAfter, Now(), amount);
                            item.Token = scope.CancelAfter(TimeSpan.FromMilliseconds(amount));
                            items.Add(item);
                            break;
                        }

                    case 4:
                        {
                            // Dispose one timer, if any.
                            var timers = items.Where(i => i.Timer is not null && i.DisposedAt is null).ToList();
                            if (timers.Count > 0)
                            {
                                var victim = timers[amount % timers.Count];
                                victim.Timer!.Dispose();
                                victim.DisposedAt = Now();
                            }

                            break;
                        }

                    default:
                        clock.Advance(TimeSpan.FromMilliseconds(amount - 1));
                        break;
                }

                if (!Matches(scope, items, Now()))
                {
                    return false;
                }
            }

            var counts = items.Select(i => i.Calls).ToArray();
            scope.Dispose();
            clock.Advance(TimeSpan.FromHours(1));
            return scope.ActiveCount == 0
                && items.Select(i => i.Calls).SequenceEqual(counts)
                && items.Where(i => i.Timer is not null).All(i => !i.Timer!.IsActive)
                && items.Where(i => i.Delay is not null).All(i => i.Delay!.IsCompletedSuccessfully || i.Delay.IsCanceled)
                && items.Where(i => i.Kind == ItemKind.CancelAfter).All(i => i.Token.IsCancellationRequested);
        });
    }

    private static bool Matches(TimerScope scope, List<Item> items, long now)
    {
        var active = 0;
        foreach (var item in items)
        {
            var end = item.DisposedAt ?? now;
            var due = item.CreatedAt + item.Amount;
            switch (item.Kind)
            {
                case ItemKind.After:
                    if (item.Calls != (due <= end ? 1 : 0) || item.Timer!.IsActive != (due > end && item.DisposedAt is null))
                    {
                        return false;
                    }

                    active += item.Timer.IsActive ? 1 : 0;
                    break;
                case ItemKind.Every:
                    if (item.Calls != (end - item.CreatedAt) / item.Amount || item.Timer!.IsActive != (item.DisposedAt is null))
                    {
                        return false;
                    }

                    active += item.Timer.IsActive ? 1 : 0;
                    break;
                case ItemKind.Delay:
                    if (item.Delay!.IsCompletedSuccessfully != (due <= now) || item.Delay.IsCanceled)
                    {
                        return false;
                    }

                    active += due <= now ? 0 : 1;
                    break;
                default:
                    if (item.Token.IsCancellationRequested != (due <= now))
                    {
                        return false;
                    }

                    active += due <= now ? 0 : 1;
                    break;
            }
        }

        return scope.ActiveCount == active;
    }

    private enum ItemKind
    {
        After,
        Every,
        Delay,
        CancelAfter,
    }

    private sealed class Item(ItemKind kind, long createdAt, int amount)
    {
        public ItemKind Kind { get; } = kind;

        public long CreatedAt { get; } = createdAt;

        public int Amount { get; } = amount;

        public long? DisposedAt { get; set; }

        public int Calls { get; private set; }

        public ScopedTimer? Timer { get; set; }

        public Task? Delay { get; set; }

        public CancellationToken Token { get; set; }

        public void Fire() => Calls++;
    }
}
