using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Primitives;
using SafeRefs.Caching;

namespace SafeRefs.Internal;

/// <summary>
/// An <see cref="ICacheEntry"/> of a <see cref="BoundedMemoryCache"/>: configured by the caller, committed on
/// <see cref="Dispose"/> if a value was set. The cache keeps the entry itself only when it needs it after the
/// commit (tokens, callbacks, linked-entry tracking); otherwise it stores the bare value and the entry is garbage.
/// Change-token registrations are disposed as soon as the entry leaves the cache, so a long-lived token never
/// keeps a removed entry (or its value) alive.
/// </summary>
internal sealed class BoundedCacheEntry : ICacheEntry
{
    // The entry whose creation scope is open on this async flow (only entries of caches that track linked entries).
    private static readonly AsyncLocal<BoundedCacheEntry?> CurrentScope = new();

    private readonly BoundedMemoryCache _cache;
    private readonly bool _tracked;
    private BoundedCacheEntry? _parent;
    private object? _value;
    private bool _valueSet;
    // Optional settings packed as plain longs (a short-lived entry per Set is the write path's main allocation):
    // -1 means "not set" for the absolute expiration (UTC ticks) and the size; 0 for the positive durations.
    private long _absoluteUtcTicks = -1;
    private long _relativeTicks;
    private long _slidingTicks;
    private long _size = -1;
    private byte _priority = (byte)CacheItemPriority.Normal;
    private List<IChangeToken>? _tokens;
    private List<PostEvictionCallbackRegistration>? _callbacks;
    private List<IDisposable>? _registrations;
    private bool _committed;
    private bool _removed;
    private bool _tokenExpired;

    public BoundedCacheEntry(BoundedMemoryCache cache, object key, bool trackLinkedEntries)
    {
        _cache = cache;
        Key = key;
        if (trackLinkedEntries)
        {
            _tracked = true;
            _parent = CurrentScope.Value;
            CurrentScope.Value = this;
        }
    }

    /// <summary>Gets the entry whose creation scope is open on this flow, if any.</summary>
    public static BoundedCacheEntry? Current => CurrentScope.Value;

    public object Key { get; }

    public object? Value
    {
        get => _value;
        set
        {
            _value = value;
            _valueSet = true;
        }
    }

    public DateTimeOffset? AbsoluteExpiration
    {
        get => _absoluteUtcTicks < 0 ? null : new DateTimeOffset(_absoluteUtcTicks, TimeSpan.Zero);
        set => _absoluteUtcTicks = value is { } at ? at.UtcTicks : -1;
    }

    public TimeSpan? AbsoluteExpirationRelativeToNow
    {
        get => _relativeTicks == 0 ? null : TimeSpan.FromTicks(_relativeTicks);
        set
        {
            if (value <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(AbsoluteExpirationRelativeToNow), value, "The relative expiration value must be positive.");
            }

            _relativeTicks = value?.Ticks ?? 0;
        }
    }

    public TimeSpan? SlidingExpiration
    {
        get => _slidingTicks == 0 ? null : TimeSpan.FromTicks(_slidingTicks);
        set
        {
            if (value <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(SlidingExpiration), value, "The sliding expiration value must be positive.");
            }

            _slidingTicks = value?.Ticks ?? 0;
        }
    }

    public IList<IChangeToken> ExpirationTokens => _tokens ??= [];

    public IList<PostEvictionCallbackRegistration> PostEvictionCallbacks => _callbacks ??= [];

    public CacheItemPriority Priority
    {
        get => (CacheItemPriority)_priority;
        set => _priority = (byte)value;
    }

    public long? Size
    {
        get => _size < 0 ? null : _size;
        set
        {
            if (value < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(Size), value, "The size must be non-negative.");
            }

            _size = value ?? -1;
        }
    }

    public bool TokenExpired => Volatile.Read(ref _tokenExpired);

    /// <summary>Gets a value indicating whether the entry has no expiration, tokens, callbacks or non-default
    /// priority, and its value is not itself an entry: the cache can store the bare value.</summary>
    public bool IsPlain => _absoluteUtcTicks < 0 && _relativeTicks == 0 && _slidingTicks == 0 && _tokens is null && _callbacks is null
        && _priority == (byte)CacheItemPriority.Normal && _value is not BoundedCacheEntry;

    public bool HasCallbacks => _callbacks is { Count: > 0 };

    public bool HasTokens => _tokens is { Count: > 0 };

    public IReadOnlyList<PostEvictionCallbackRegistration> Callbacks => _callbacks ?? [];

    /// <summary>Closes the creation scope and, like <c>MemoryCache</c>, commits only if a value was set (a
    /// factory that threw leaves nothing behind); then hands tokens and absolute expiration to the parent entry.</summary>
    public void Dispose()
    {
        if (_committed)
        {
            return;
        }

        _committed = true;
        var parent = _parent;
        _parent = null;
        if (_tracked)
        {
            CurrentScope.Value = parent;
        }

        if (!_valueSet)
        {
            return;
        }

        _cache.Commit(this);
        if (parent is not null)
        {
            PropagateTo(parent);
        }
    }

    /// <summary>Copies this entry's expiration tokens and (earlier) absolute expiration to <paramref name="parent"/>.</summary>
    public void PropagateTo(BoundedCacheEntry parent)
    {
        if (ReferenceEquals(parent, this))
        {
            return;
        }

        var tokens = _tokens;
        if (tokens is { Count: > 0 })
        {
            IChangeToken[] copy;
            lock (tokens)
            {
                copy = [.. tokens];
            }

            var target = parent.ExpirationTokens;
            lock (target)
            {
                foreach (var token in copy)
                {
                    target.Add(token);
                }
            }
        }

        if (AbsoluteExpiration is { } absolute && (parent.AbsoluteExpiration is not { } current || absolute < current))
        {
            parent.AbsoluteExpiration = absolute;
        }
    }

    /// <summary>Whether a token without active callbacks reports a change (checked on read and by the sweep).</summary>
    public bool HasChangedToken()
    {
        var tokens = _tokens;
        if (tokens is null)
        {
            return false;
        }

        foreach (var token in tokens)
        {
            if (token.HasChanged)
            {
                Volatile.Write(ref _tokenExpired, true);
                return true;
            }
        }

        return false;
    }

    public void RegisterTokens()
    {
        if (_tokens is null)
        {
            return;
        }

        foreach (var token in _tokens)
        {
            if (!token.ActiveChangeCallbacks)
            {
                continue;
            }

            var registration = token.RegisterChangeCallback(static state => ((BoundedCacheEntry)state!).OnTokenChanged(), this);
            lock (_tokens)
            {
                if (!_removed)
                {
                    (_registrations ??= []).Add(registration);
                    continue;
                }
            }

            registration.Dispose();
        }
    }

    /// <summary>Called once the entry left the cache: drops token registrations so tokens no longer reference it.</summary>
    public void MarkRemoved()
    {
        List<IDisposable>? registrations;
        if (_tokens is null)
        {
            return;
        }

        lock (_tokens)
        {
            _removed = true;
            registrations = _registrations;
            _registrations = null;
        }

        if (registrations is not null)
        {
            foreach (var registration in registrations)
            {
                registration.Dispose();
            }
        }
    }

    private void OnTokenChanged()
    {
        Volatile.Write(ref _tokenExpired, true);
        _cache.RemoveExpired(this);
    }
}
