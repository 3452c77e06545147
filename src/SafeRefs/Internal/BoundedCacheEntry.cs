using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Primitives;
using SafeRefs.Caching;

namespace SafeRefs.Internal;

/// <summary>
/// An <see cref="ICacheEntry"/> of a <see cref="BoundedMemoryCache"/>: configured by the caller, committed on
/// <see cref="Dispose"/>, then stored as the cache's value. Change-token registrations are disposed as soon as
/// the entry leaves the cache, so a long-lived token never keeps a removed entry (or its value) alive.
/// </summary>
internal sealed class BoundedCacheEntry : ICacheEntry
{
    private readonly BoundedMemoryCache _cache;
    private TimeSpan? _relative;
    private TimeSpan? _sliding;
    private long? _size;
    private List<IChangeToken>? _tokens;
    private List<PostEvictionCallbackRegistration>? _callbacks;
    private List<IDisposable>? _registrations;
    private bool _committed;
    private bool _removed;
    private bool _tokenExpired;

    public BoundedCacheEntry(BoundedMemoryCache cache, object key)
    {
        _cache = cache;
        Key = key;
    }

    public object Key { get; }

    public object? Value { get; set; }

    public DateTimeOffset? AbsoluteExpiration { get; set; }

    public TimeSpan? AbsoluteExpirationRelativeToNow
    {
        get => _relative;
        set
        {
            if (value <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(AbsoluteExpirationRelativeToNow), value, "The relative expiration value must be positive.");
            }

            _relative = value;
        }
    }

    public TimeSpan? SlidingExpiration
    {
        get => _sliding;
        set
        {
            if (value <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(SlidingExpiration), value, "The sliding expiration value must be positive.");
            }

            _sliding = value;
        }
    }

    public IList<IChangeToken> ExpirationTokens => _tokens ??= [];

    public IList<PostEvictionCallbackRegistration> PostEvictionCallbacks => _callbacks ??= [];

    public CacheItemPriority Priority { get; set; } = CacheItemPriority.Normal;

    public long? Size
    {
        get => _size;
        set
        {
            if (value < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(Size), value, "The size must be non-negative.");
            }

            _size = value;
        }
    }

    public bool TokenExpired => Volatile.Read(ref _tokenExpired);

    public bool HasCallbacks => _callbacks is { Count: > 0 };

    public bool HasTokens => _tokens is { Count: > 0 };

    public IReadOnlyList<PostEvictionCallbackRegistration> Callbacks => _callbacks ?? [];

    public void Dispose()
    {
        if (_committed)
        {
            return;
        }

        _committed = true;
        _cache.Commit(this);
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
