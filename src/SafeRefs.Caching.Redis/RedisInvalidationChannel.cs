using System.Diagnostics.Metrics;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SafeRefs.Caching.Redis.Internal;
using StackExchange.Redis;

namespace SafeRefs.Caching.Redis;

/// <summary>
/// Keeps this instance's <see cref="BoundedMemoryCache"/> coherent with the other instances that share a Redis:
/// every write or removal made through the container's <c>IDistributedCache</c> (so every <see cref="HybridCache"/>
/// <c>SetAsync</c>, <c>RemoveAsync</c>, <c>RemoveByTagAsync</c> and value creation) is announced on a Redis pub/sub
/// channel once it has returned, and every other instance drops its local copy of that key (or applies the tag
/// invalidation to its <see cref="HybridCache"/>).
/// </summary>
/// <remarks>
/// <para><b>Messages</b> carry the sender's <see cref="InstanceId"/> and a key or tag, never a value; an instance
/// ignores its own messages (it already applied the change locally).</para>
/// <para><b>Faults never reach a cache caller:</b> a publish that fails (Redis down) or a message that cannot be
/// applied is logged (event ids 1480–1489) and counted in <see cref="Statistics"/>. When a lost connection comes
/// back, the instance clears its local cache (it may have missed messages), and an instance that could not publish
/// asks every other instance to clear theirs.</para>
/// <para><b>Holds</b> the local cache, the Redis connection (disposed with the channel when the channel created it)
/// and the service provider (to find <see cref="HybridCache"/> when a tag invalidation arrives), all strongly. It is
/// not held by the instruments of a container's <c>IMeterFactory</c> (they outlive it): once disposed it reports
/// nothing and can be collected.</para>
/// <para><b>Thread safety:</b> all members are thread-safe. Messages are applied one at a time, in arrival order.</para>
/// <para><b>Second dispose:</b> does nothing. The first one unsubscribes and closes a connection the channel
/// created; later publishes are dropped silently.</para>
/// </remarks>
public sealed class RedisInvalidationChannel : IDisposable, IAsyncDisposable
{
    private readonly BoundedMemoryCache _localCache;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    private readonly RedisChannel _channel;
    private readonly string _channelName;
    private readonly TimeSpan _retryInterval;
    private readonly Func<Task<IConnectionMultiplexer>>? _factory;
    private readonly ConfigurationOptions? _configuration;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ChannelInstruments? _instruments;
    private readonly Lock _lock = new();
    private readonly ReadTracker _reads = new();
    private IConnectionMultiplexer? _connection;
    private ChannelMessageQueue? _queue;
    private bool _ownsConnection;
    private int _unsent;
    private int _connectionEvents;
    private int _disposed;
    private long _published;
    private long _publishFailures;
    private long _received;
    private long _ignoredOwn;
    private long _applied;
    private long _applyFailures;
    private long _resyncs;

    internal RedisInvalidationChannel(
        RedisInvalidationOptions options,
        BoundedMemoryCache localCache,
        IServiceProvider services,
        ILoggerFactory? loggerFactory,
        IMeterFactory? meterFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.ChannelName, nameof(options.ChannelName));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.SubscribeRetryInterval, TimeSpan.Zero, nameof(options.SubscribeRetryInterval));
        _factory = options.ConnectionMultiplexerFactory;
        if (_factory is null)
        {
            if (options.ConfigurationOptions is { } configuration)
            {
                _configuration = configuration.Clone();
            }
            else if (!string.IsNullOrEmpty(options.Configuration))
            {
                _configuration = ConfigurationOptions.Parse(options.Configuration);
            }
            else
            {
                throw new ArgumentException("Set RedisInvalidationOptions.Configuration, ConfigurationOptions or ConnectionMultiplexerFactory.", nameof(options));
            }

            // Keep retrying in the background, and never hold a cache write up while Redis is unreachable.
            _configuration.AbortOnConnectFail = false;
            _configuration.BacklogPolicy = BacklogPolicy.FailFast;
        }

        _localCache = localCache;
        _services = services;
        _logger = loggerFactory?.CreateLogger<RedisInvalidationChannel>() ?? NullLogger<RedisInvalidationChannel>.Instance;
        _channelName = options.ChannelName;
        _channel = RedisChannel.Literal(options.ChannelName);
        _retryInterval = options.SubscribeRetryInterval;
        InstanceId = Guid.NewGuid().ToString("N");
        if (meterFactory is not null)
        {
            // The factory's instruments hold no channel: a disposed channel leaves them and can be collected.
            _instruments = ChannelInstruments.For(meterFactory, _logger);
            _instruments.Register(this, _channelName);
        }

        var stopping = _stopping.Token;
        SubscribeLoop = Task.Run(() => ConnectAndSubscribeAsync(stopping));
    }

    /// <summary>Gets the id this instance puts in its messages (a new GUID per channel).</summary>
    /// <value>32 hexadecimal digits.</value>
    public string InstanceId { get; }

    /// <summary>Gets a value indicating whether the channel has subscribed and its Redis connection is up.</summary>
    /// <value><see langword="true"/> while messages from other instances are being received.</value>
    public bool IsSubscribed => _subscribed.Task.IsCompleted && _connection is { IsConnected: true };

    /// <summary>Gets the channel's counters.</summary>
    /// <value>A new snapshot on each read.</value>
    public RedisInvalidationStatistics Statistics => new(
        Volatile.Read(ref _published),
        Volatile.Read(ref _publishFailures),
        Volatile.Read(ref _received),
        Volatile.Read(ref _ignoredOwn),
        Volatile.Read(ref _applied),
        Volatile.Read(ref _applyFailures),
        Volatile.Read(ref _resyncs));

    /// <summary>Gets the background loop that connects and subscribes; it ends once subscribed or stopped by
    /// <c>Dispose</c> (tests wait for it before they collect a disposed channel, which the loop references).</summary>
    internal Task SubscribeLoop { get; }

    /// <summary>Gets or sets a test hook that runs before each message from another instance is applied.</summary>
    internal Func<InvalidationKind, string, Task>? BeforeApply { get; set; }

    /// <summary>Gets or sets a test hook that runs before each asynchronous publish; a throw stands for a failed one.</summary>
    internal Func<InvalidationKind, Task>? BeforePublish { get; set; }

    /// <summary>Completes when the channel has subscribed for the first time (use it in a readiness check).</summary>
    /// <param name="cancellationToken">Cancels the wait, not the subscription.</param>
    /// <returns>A task that completes once subscribed.</returns>
    public Task WhenSubscribedAsync(CancellationToken cancellationToken = default)
        => _subscribed.Task.WaitAsync(cancellationToken);

    /// <summary>Removes <paramref name="key"/> from the local cache and tells every other instance to remove it from
    /// theirs. Use it after changing the data behind a key that is cached without going through
    /// <c>IDistributedCache</c>.</summary>
    /// <param name="key">The cache key.</param>
    /// <returns>A task that completes when the message was handed to Redis (or could not be: never faults).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> is <see langword="null"/>.</exception>
    public ValueTask InvalidateAsync(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        _localCache.Remove(key);
        return PublishAsync(InvalidationKind.Key, key);
    }

    /// <summary>Clears the local cache and tells every other instance to clear theirs.</summary>
    /// <returns>A task that completes when the message was handed to Redis (or could not be: never faults).</returns>
    public ValueTask InvalidateAllAsync()
    {
        _localCache.Clear();
        return PublishAsync(InvalidationKind.Clear, string.Empty);
    }

    /// <summary>Unsubscribes and closes the connection if the channel created it; see the remarks of the type.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        StopCore(out var connection, out var queue);
        try
        {
            queue?.Unsubscribe(CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException or InvalidOperationException)
        {
            // Shutting down: the server drops the subscription with the connection anyway.
        }

        connection?.Dispose();
        _instruments?.Unregister(this);
        _stopping.Dispose();
    }

    /// <summary>Unsubscribes and closes the connection if the channel created it; see the remarks of the type.</summary>
    /// <returns>A task that completes when the connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        StopCore(out var connection, out var queue);
        try
        {
            if (queue is not null)
            {
                await queue.UnsubscribeAsync(CommandFlags.FireAndForget).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is RedisException or ObjectDisposedException or InvalidOperationException)
        {
            // Shutting down: the server drops the subscription with the connection anyway.
        }

        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        _instruments?.Unregister(this);
        _stopping.Dispose();
    }

    /// <summary>Registers a distributed-cache read of <paramref name="key"/>; see <see cref="ReadTracker"/>.</summary>
    internal ReadTracker.Read BeginRead(string key) => _reads.Begin(key);

    /// <summary>Ends a read; <see langword="true"/> when an invalidation of its key was applied meanwhile.</summary>
    internal bool EndRead(ReadTracker.Read read) => _reads.End(read);

    /// <summary>Announces a change of <paramref name="payload"/>; never throws and never waits for a reconnect.</summary>
    internal async ValueTask PublishAsync(InvalidationKind kind, string payload)
    {
        if (TryGetPublisher() is not { } subscriber)
        {
            return;
        }

        try
        {
            if (Volatile.Read(ref _unsent) != 0 && Interlocked.Exchange(ref _unsent, 0) != 0)
            {
                await PublishClearAsync(subscriber).ConfigureAwait(false);
            }

            if (BeforePublish is { } hook)
            {
                await hook(kind).ConfigureAwait(false);
            }

            await subscriber.PublishAsync(_channel, InvalidationMessage.Format(InstanceId, kind, payload)).ConfigureAwait(false);
            Interlocked.Increment(ref _published);
        }
        catch (Exception ex)
        {
            MarkUnsent(ex);
        }
    }

    /// <summary>The synchronous twin of <see cref="PublishAsync"/>, for the synchronous <c>IDistributedCache</c> writes.</summary>
    internal void Publish(InvalidationKind kind, string payload)
    {
        if (TryGetPublisher() is not { } subscriber)
        {
            return;
        }

        try
        {
            if (Volatile.Read(ref _unsent) != 0 && Interlocked.Exchange(ref _unsent, 0) != 0)
            {
                subscriber.Publish(_channel, InvalidationMessage.Format(InstanceId, InvalidationKind.Clear, string.Empty));
                Interlocked.Increment(ref _published);
                Log.ClearRequested(_logger, InstanceId);
            }

            subscriber.Publish(_channel, InvalidationMessage.Format(InstanceId, kind, payload));
            Interlocked.Increment(ref _published);
        }
        catch (Exception ex)
        {
            MarkUnsent(ex);
        }
    }

    private ISubscriber? TryGetPublisher()
    {
        if (RemoteApplyScope.IsActive || Volatile.Read(ref _disposed) != 0)
        {
            return null; // applying another instance's message, whose sender already told everyone
        }

        var connection = Volatile.Read(ref _connection);
        if (connection is null || !connection.IsConnected)
        {
            MarkUnsent(null);
            return null;
        }

        return connection.GetSubscriber();
    }

    private async Task PublishClearAsync(ISubscriber subscriber)
    {
        if (BeforePublish is { } hook)
        {
            await hook(InvalidationKind.Clear).ConfigureAwait(false);
        }

        await subscriber.PublishAsync(_channel, InvalidationMessage.Format(InstanceId, InvalidationKind.Clear, string.Empty)).ConfigureAwait(false);
        Interlocked.Increment(ref _published);
        Log.ClearRequested(_logger, InstanceId);
    }

    private void MarkUnsent(Exception? exception)
    {
        Interlocked.Increment(ref _publishFailures);

        // Log once per outage; the counter keeps the total.
        if (Interlocked.Exchange(ref _unsent, 1) == 0)
        {
            Log.PublishFailed(_logger, exception, _channelName);
        }
    }

    private void StopCore(out IConnectionMultiplexer? ownedConnection, out ChannelMessageQueue? queue)
    {
        _stopping.Cancel();
        lock (_lock)
        {
            ownedConnection = _ownsConnection ? _connection : null;
            queue = _queue;
            if (_connection is { } connection)
            {
                connection.ConnectionFailed -= OnConnectionFailed;
                connection.ConnectionRestored -= OnConnectionRestored;
            }

            _queue = null;
        }
    }

    private async Task ConnectAndSubscribeAsync(CancellationToken stopping)
    {
        var failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (await TrySubscribeAsync().ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception ex)
            {
                // A user factory or the client failed: log the first failure of a series, keep retrying.
                if (failures++ == 0)
                {
                    Log.SubscribeFailed(_logger, ex, _channelName);
                }
            }

            try
            {
                await Task.Delay(_retryInterval, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<bool> TrySubscribeAsync()
    {
        var connection = Volatile.Read(ref _connection);
        if (connection is null)
        {
            var owned = _factory is null;
            connection = owned
                ? await ConnectionMultiplexer.ConnectAsync(_configuration!).ConfigureAwait(false)
                : await _factory!().ConfigureAwait(false);
            lock (_lock)
            {
                if (Volatile.Read(ref _disposed) != 0)
                {
                    if (owned)
                    {
                        connection.Dispose();
                    }

                    return true;
                }

                _ownsConnection = owned;
                connection.ConnectionFailed += OnConnectionFailed;
                connection.ConnectionRestored += OnConnectionRestored;
                Volatile.Write(ref _connection, connection);
            }
        }

        if (!connection.IsConnected)
        {
            return false;
        }

        var subscriber = connection.GetSubscriber();
        ChannelMessageQueue queue;
        try
        {
            queue = await subscriber.SubscribeAsync(_channel).ConfigureAwait(false);
        }
        catch
        {
            // The client may keep a half-made subscription: drop it so that a retry does not deliver twice.
            try
            {
                await subscriber.UnsubscribeAsync(_channel).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Retried with the subscription.
            }

            throw;
        }

        lock (_lock)
        {
            if (Volatile.Read(ref _disposed) == 0)
            {
                _queue = queue;
            }
        }

        if (Volatile.Read(ref _disposed) != 0 && !ReferenceEquals(Volatile.Read(ref _queue), queue))
        {
            await queue.UnsubscribeAsync(CommandFlags.FireAndForget).ConfigureAwait(false);
            return true;
        }

        queue.OnMessage(OnMessageAsync);
        Log.Subscribed(_logger, _channelName, InstanceId);
        _subscribed.TrySetResult();
        return true;
    }

    private async Task OnMessageAsync(ChannelMessage message)
    {
        var kind = InvalidationKind.Key;
        try
        {
            if (!InvalidationMessage.TryParse(message.Message, out var sender, out kind, out var payload))
            {
                Interlocked.Increment(ref _applyFailures);
                Log.MalformedMessage(_logger, _channelName);
                return;
            }

            if (string.Equals(sender, InstanceId, StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _ignoredOwn);
                return;
            }

            Interlocked.Increment(ref _received);
            if (BeforeApply is { } hook)
            {
                await hook(kind, payload).ConfigureAwait(false);
            }

            // Reads in flight are marked before the L1 changes, so none of them can store the old value after it.
            switch (kind)
            {
                case InvalidationKind.Key:
                    _reads.Invalidate(payload);
                    _localCache.Remove(payload);
                    break;
                case InvalidationKind.Tag:
                    _reads.InvalidateAll();
                    await ApplyTagAsync(payload).ConfigureAwait(false);
                    break;
                default:
                    _reads.InvalidateAll();
                    _localCache.Clear();
                    break;
            }

            Interlocked.Increment(ref _applied);
        }
        catch (Exception ex)
        {
            // A failing message must neither stop the subscription nor reach anyone else.
            Interlocked.Increment(ref _applyFailures);
            Log.ApplyFailed(_logger, ex, kind.ToString());
        }
    }

    private async Task ApplyTagAsync(string tag)
    {
        // HybridCache keeps its tag invalidation times per process and reads them from L2 only once per tag, so the
        // tag is invalidated again here; the L2 write this makes is not announced again.
        if (_services.GetService<HybridCache>() is { } hybridCache)
        {
            using var scope = RemoteApplyScope.Enter();
            await hybridCache.RemoveByTagAsync(tag).ConfigureAwait(false);
        }
    }

    // The client raises ConnectionFailed and ConnectionRestored from separate thread-pool work items, so the handler
    // of a reconnection can run before the handler of the failure it follows. Per connection type, _connectionEvents
    // holds two bits: "a failure awaits its reconnection" and "a connection was restored while no failure was known"
    // (a first connection, or a reconnection whose failure handler is late). Whichever handler of a pair runs second
    // resynchronises: a late failure handler finds the restore bit and the connection already back.
    internal void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        try
        {
            var type = e.ConnectionType;
            var failed = FailedBit(type);
            var restored = RestoredBit(type);
            int events;
            int next;
            do
            {
                events = Volatile.Read(ref _connectionEvents);
                var restoredFirst = (events & restored) != 0 && IsUp(type);
                next = restoredFirst ? events & ~restored : (events & ~restored) | failed;
            }
            while (Interlocked.CompareExchange(ref _connectionEvents, next, events) != events);

            Log.ConnectionFailed(_logger, e.Exception, type.ToString(), e.FailureType.ToString());
            if ((next & failed) == 0)
            {
                Resynchronize(type); // the reconnection's handler ran first
            }
        }
        catch (Exception ex)
        {
            Log.ConnectionEventFailed(_logger, ex);
        }
    }

    internal void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        try
        {
            var type = e.ConnectionType;
            var failed = FailedBit(type);
            int events;
            do
            {
                events = Volatile.Read(ref _connectionEvents);
            }
            while (Interlocked.CompareExchange(ref _connectionEvents, (events & failed) != 0 ? events & ~failed : events | RestoredBit(type), events) != events);

            if ((events & failed) != 0)
            {
                Resynchronize(type);
            }
        }
        catch (Exception ex)
        {
            Log.ConnectionEventFailed(_logger, ex);
        }
    }

    private static int FailedBit(ConnectionType type) => 1 << (2 * (int)type);

    private static int RestoredBit(ConnectionType type) => 2 << (2 * (int)type);

    private bool IsUp(ConnectionType type) => Volatile.Read(ref _connection) is { } connection &&
        (type == ConnectionType.Subscription ? connection.GetSubscriber().IsConnected(_channel) : connection.IsConnected);

    private void Resynchronize(ConnectionType type)
    {
        // Messages sent while this connection was down are gone: forget everything they could have invalidated.
        _reads.InvalidateAll();
        var count = _localCache.Count;
        _localCache.Clear();
        Interlocked.Increment(ref _resyncs);
        Log.Resynchronized(_logger, type.ToString(), count);
        if (Volatile.Read(ref _unsent) != 0 && Interlocked.Exchange(ref _unsent, 0) != 0 && Volatile.Read(ref _connection) is { } connection)
        {
            _ = FlushUnsentAsync(connection.GetSubscriber());
        }
    }

    private async Task FlushUnsentAsync(ISubscriber subscriber)
    {
        // The subscription and interactive connections come back one after the other: a publish started when the first
        // is back can fail because the second is not, and the second's event may already have passed. Retry a few
        // times before leaving the request to the next reconnection.
        Exception? last = null;
        try
        {
            var stopping = _stopping.Token;
            for (var attempt = 0; attempt < 5; attempt++)
            {
                if (attempt > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100 << attempt), stopping).ConfigureAwait(false);
                }

                try
                {
                    await PublishClearAsync(subscriber).ConfigureAwait(false);
                    return;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    last = ex;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            return; // the channel is stopping
        }

        MarkUnsent(last);
    }
}
