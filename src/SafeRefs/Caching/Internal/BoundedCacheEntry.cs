using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Primitives;

namespace SafeRefs.Caching.Internal;

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
    private object? _value;
    private Extras? _extras;
    private bool _valueSet;
    private bool _committed;
    // Optional settings packed as plain longs (a short-lived entry per Set is the write path's main allocation):
    // -1 means "not set" for the absolute expiration (UTC ticks) and the size; 0 for the positive durations.
    private long _absoluteUtcTicks = -1;
    private long _relativeTicks;
    private long _slidingTicks;
    private long _size = -1;
    private byte _priority = (byte)CacheItemPriority.Normal;

    public BoundedCacheEntry(BoundedMemoryCache cache, object key, bool trackLinkedEntries)
    {
        _cache = cache;
        Key = key;
        if (trackLinkedEntries)
        {
            _extras = new Extras { Tracked = true, Parent = CurrentScope.Value };
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

    public IList<IChangeToken> ExpirationTokens => (_extras ??= new()).Tokens ??= [];

    public IList<PostEvictionCallbackRegistration> PostEvictionCallbacks => (_extras ??= new()).Callbacks ??= [];

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

    public bool TokenExpired => _extras is { TokenExpired: true };

    /// <summary>Gets a value indicating whether the entry has no expiration, tokens, callbacks or non-default
    /// priority, and its value is not itself an entry: the cache can store the bare value.</summary>
    public bool IsPlain => _absoluteUtcTicks < 0 && _relativeTicks == 0 && _slidingTicks == 0
        && (_extras is null || (_extras.Tokens is null && _extras.Callbacks is null)) && _priority == (byte)CacheItemPriority.Normal && _value is not BoundedCacheEntry;

    public bool HasCallbacks => _extras?.Callbacks is { Count: > 0 };

    public bool HasTokens => _extras?.Tokens is { Count: > 0 };

    public IReadOnlyList<PostEvictionCallbackRegistration> Callbacks => (IReadOnlyList<PostEvictionCallbackRegistration>?)_extras?.Callbacks ?? [];

    /// <summary>Closes the creation scope and, like <c>MemoryCache</c>, commits only if a value was set (a
    /// factory that threw leaves nothing behind); then hands tokens and absolute expiration to the parent entry.</summary>
    public void Dispose()
    {
        if (_committed)
        {
            return;
        }

        _committed = true;
        var parent = _extras?.Parent;
        if (_extras is { Tracked: true } extras)
        {
            extras.Parent = null;
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

    /// <summary>Copies this entry's expiration tokens and (earlier) absolute expiration to <paramref name="parent"/>
    /// (an entry of a cache that tracks linked entries). A parent that is already stored starts watching them at once,
    /// as <c>MemoryCache</c>'s entries do: it expires when a copied token fires or the copied expiration passes.</summary>
    public void PropagateTo(BoundedCacheEntry parent)
    {
        if (ReferenceEquals(parent, this))
        {
            return;
        }

        var tokens = SnapshotTokens();
        var absolute = _absoluteUtcTicks;
        var target = parent._extras!;
        bool stored;
        lock (target)
        {
            if (tokens.Length > 0)
            {
                (target.Tokens ??= []).AddRange(tokens);
                if (target.Stored)
                {
                    target.StoredTokens = [.. target.Tokens];
                }
            }

            if (absolute >= 0 && (parent._absoluteUtcTicks < 0 || absolute < parent._absoluteUtcTicks))
            {
                parent._absoluteUtcTicks = absolute;
            }
            else
            {
                absolute = -1;
            }

            stored = target.Stored;
        }

        if (stored && (tokens.Length > 0 || absolute >= 0))
        {
            parent.WatchLinked(tokens, absolute);
        }
    }

    /// <summary>Whether a token reports a change or an expiration handed over after the commit passed (checked on
    /// read and by the sweep).</summary>
    public bool IsStale()
    {
        if (_extras is not { } extras)
        {
            return false;
        }

        if (extras.LinkedExpiry != long.MaxValue && _cache.GetTimestamp() >= extras.LinkedExpiry)
        {
            return true;
        }

        return HasChangedToken();
    }

    /// <summary>Whether a token reports a change (checked before the commit, on read and by the sweep).</summary>
    public bool HasChangedToken()
    {
        if (_extras is not { Tokens: not null } extras)
        {
            return false;
        }

        // Once stored, the tokens are read from a published array (no lock, no allocation per read); before that,
        // on the commit path, from a snapshot of the list.
        foreach (var token in extras.StoredTokens ?? SnapshotTokens())
        {
            if (token.HasChanged)
            {
                extras.TokenExpired = true;
                return true;
            }
        }

        return false;
    }

    /// <summary>Marks the entry stored (it was written to the cache), registers its tokens' change callbacks, and
    /// watches what a linked entry handed over while the commit ran.</summary>
    /// <param name="committedAbsoluteUtcTicks">The absolute expiration the commit used (UTC ticks), or -1.</param>
    public void MarkStored(long committedAbsoluteUtcTicks)
    {
        var extras = _extras ??= new();
        IChangeToken[] tokens;
        long lateAbsolute = -1;
        lock (extras)
        {
            extras.Stored = true;
            tokens = extras.Tokens is { Count: > 0 } list ? [.. list] : [];
            extras.StoredTokens = tokens;
            if (_absoluteUtcTicks >= 0 && (committedAbsoluteUtcTicks < 0 || _absoluteUtcTicks < committedAbsoluteUtcTicks))
            {
                lateAbsolute = _absoluteUtcTicks;
            }
        }

        WatchLinked(tokens, lateAbsolute);
    }

    private IChangeToken[] SnapshotTokens()
    {
        if (_extras is not { Tokens: not null } extras)
        {
            return [];
        }

        lock (extras)
        {
            return extras.Tokens is { Count: > 0 } tokens ? [.. tokens] : [];
        }
    }

    /// <summary>Registers change callbacks of <paramref name="tokens"/>, applies an expiration that arrived after the
    /// commit, and removes the entry at once if either already applies.</summary>
    private void WatchLinked(IChangeToken[] tokens, long absoluteUtcTicks)
    {
        var extras = _extras!;
        if (absoluteUtcTicks >= 0)
        {
            var expiry = _cache.ToTimestamp(new DateTimeOffset(absoluteUtcTicks, TimeSpan.Zero));
            lock (extras)
            {
                extras.LinkedExpiry = Math.Min(extras.LinkedExpiry, expiry);
            }
        }

        foreach (var token in tokens)
        {
            if (!token.ActiveChangeCallbacks)
            {
                continue;
            }

            var registration = token.RegisterChangeCallback(static state => ((BoundedCacheEntry)state!).OnTokenChanged(), this);
            lock (extras)
            {
                if (!extras.Removed)
                {
                    (extras.Registrations ??= []).Add(registration);
                    continue;
                }
            }

            DisposeRegistration(registration);
        }

        if (IsStale())
        {
            _cache.RemoveExpired(this);
        }
    }

    /// <summary>Called once the entry left the cache: drops token registrations so tokens no longer reference it.</summary>
    public void MarkRemoved()
    {
        List<IDisposable>? registrations;
        if (_extras is not { } extras)
        {
            return;
        }

        lock (extras)
        {
            extras.Removed = true;
            registrations = extras.Registrations;
            extras.Registrations = null;
        }

        if (registrations is not null)
        {
            foreach (var registration in registrations)
            {
                DisposeRegistration(registration);
            }
        }
    }

    private void DisposeRegistration(IDisposable registration)
    {
        try
        {
            registration.Dispose();
        }
        catch (Exception ex)
        {
            // A token's registration is user code: its failure must not fail the lookup or write that removed the
            // entry, nor keep the other registrations alive.
            _cache.ReportTokenRegistrationFailure(ex);
        }
    }

    private void OnTokenChanged()
    {
        _extras!.TokenExpired = true;
        _cache.RemoveExpired(this);
    }

    /// <summary>What only some entries need (tokens, callbacks, linked-entry scope), kept out of the entry that a
    /// plain <c>Set</c> allocates.</summary>
    private sealed class Extras
    {
        private volatile bool _tokenExpired;
        private long _linkedExpiry = long.MaxValue;
        private IChangeToken[]? _storedTokens;

        public BoundedCacheEntry? Parent { get; set; }

        public bool Tracked { get; init; }

        public List<IChangeToken>? Tokens { get; set; }

        public List<PostEvictionCallbackRegistration>? Callbacks { get; set; }

        /// <summary>Gets or sets the change-token registrations (guarded by a lock on this object).</summary>
        public List<IDisposable>? Registrations { get; set; }

        /// <summary>Gets or sets a value indicating whether the entry left the cache (guarded by a lock on this object).</summary>
        public bool Removed { get; set; }

        /// <summary>Gets or sets a value indicating whether the entry was written to the cache (guarded by a lock on
        /// this object): what a linked entry hands over later must then be watched by the stored entry itself.</summary>
        public bool Stored { get; set; }

        /// <summary>Gets or sets the tokens of a stored entry, replaced (under a lock on this object) when a linked
        /// entry adds some; readers use it without locking.</summary>
        public IChangeToken[]? StoredTokens
        {
            get => Volatile.Read(ref _storedTokens);
            set => Volatile.Write(ref _storedTokens, value);
        }

        /// <summary>Gets or sets the timestamp at which an expiration handed over after the commit passes (written
        /// under a lock on this object, read without it).</summary>
        public long LinkedExpiry
        {
            get => Volatile.Read(ref _linkedExpiry);
            set => Volatile.Write(ref _linkedExpiry, value);
        }

        public bool TokenExpired
        {
            get => _tokenExpired;
            set => _tokenExpired = value;
        }
    }
}
