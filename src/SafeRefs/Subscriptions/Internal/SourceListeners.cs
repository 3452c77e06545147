using SafeRefs.Internal;
namespace SafeRefs.Subscriptions.Internal;

/// <summary>The listener counts of one source, per event name (the value of a budget's weak table).</summary>
/// <remarks>
/// Lookups by the caller's string are reference comparisons first: names from <c>CallerArgumentExpression</c> are
/// interned literals. A new spelling is normalized once under the lock and remembered as an alias.
/// </remarks>
internal sealed class SourceListeners
{
    private readonly Lock _lock = new();
    private volatile Alias[] _aliases = [];

    public SourceListeners(object source)
    {
        Source = new WeakReference<object>(source);
    }

    /// <summary>Gets the source, weakly: lets a budget cache its last lookup without keeping the source alive.</summary>
    public WeakReference<object> Source { get; }

    public ListenerCount GetOrAdd(string key)
    {
        var aliases = _aliases;
        for (var i = 0; i < aliases.Length; i++)
        {
            if (ReferenceEquals(aliases[i].Key, key))
            {
                return aliases[i].Counter;
            }
        }

        return AddSlow(key);
    }

    public ListenerCount? Find(string eventName)
    {
        var normalized = EventNames.Normalize(eventName);
        foreach (var alias in _aliases)
        {
            if (string.Equals(alias.Counter.EventName, normalized, StringComparison.Ordinal))
            {
                return alias.Counter;
            }
        }

        return null;
    }

    private ListenerCount AddSlow(string key)
    {
        lock (_lock)
        {
            var aliases = _aliases;
            ListenerCount? counter = null;
            foreach (var alias in aliases)
            {
                if (string.Equals(alias.Key, key, StringComparison.Ordinal))
                {
                    counter = alias.Counter;
                    break;
                }
            }

            if (counter is null)
            {
                var normalized = EventNames.Normalize(key);
                foreach (var alias in aliases)
                {
                    if (string.Equals(alias.Counter.EventName, normalized, StringComparison.Ordinal))
                    {
                        counter = alias.Counter;
                        break;
                    }
                }

                counter ??= new ListenerCount(normalized);
            }

            if (aliases.Length < 64)
            {
                var grown = new Alias[aliases.Length + 1];
                aliases.CopyTo(grown, 0);
                grown[^1] = new Alias(key, counter);
                _aliases = grown;
            }

            return counter;
        }
    }

    private readonly record struct Alias(string Key, ListenerCount Counter);
}
