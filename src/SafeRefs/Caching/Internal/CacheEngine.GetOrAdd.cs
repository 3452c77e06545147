using System.Collections.Concurrent;

namespace SafeRefs.Caching.Internal;

/// <content>Stampede-safe <c>GetOrAdd</c>: one factory call per key at a time, shared by every concurrent caller.</content>
internal sealed partial class CacheEngine<TKey, TValue>
{
    /// <summary>Returns the cached value for <paramref name="key"/>, or creates, stores and returns it.</summary>
    /// <param name="key">The key.</param>
    /// <param name="factory">Creates the value; runs at most once per key at a time: concurrent callers for the
    /// same key wait for that one call and get its value (or its exception). A throwing factory stores nothing.</param>
    /// <returns>The cached or created value.</returns>
    /// <remarks>Do not call <c>GetOrAdd</c> for the same key from inside <paramref name="factory"/>: it would wait for itself.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="factory"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public TValue GetOrAdd(TKey key, Func<TKey, TValue> factory)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(factory);
        return TryGet(key, out var value) ? value : GetOrAddSlow(key, static (k, f) => f(k), factory);
    }

    /// <summary>Returns the cached value for <paramref name="key"/>, or creates, stores and returns it, passing an
    /// argument to the factory (so it need not capture anything).</summary>
    /// <typeparam name="TArg">The type of the factory argument.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="factory">Creates the value; same guarantees as <see cref="GetOrAdd(TKey, Func{TKey, TValue})"/>.</param>
    /// <param name="factoryArgument">Passed to <paramref name="factory"/>.</param>
    /// <returns>The cached or created value.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="factory"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    public TValue GetOrAdd<TArg>(TKey key, Func<TKey, TArg, TValue> factory, TArg factoryArgument)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(factory);
        return TryGet(key, out var value) ? value : GetOrAddSlow(key, factory, factoryArgument);
    }

    /// <summary>Returns the cached value for <paramref name="key"/>, or creates it asynchronously, stores and returns it.</summary>
    /// <param name="key">The key.</param>
    /// <param name="factory">Creates the value; runs at most once per key at a time and is shared by concurrent
    /// callers. Its token is cancelled only when every caller waiting for it has been cancelled.</param>
    /// <param name="cancellationToken">Cancels this caller's wait only; other callers still get the value.</param>
    /// <returns>The cached or created value.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="key"/> or <paramref name="factory"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The cache is disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask<TValue> GetOrAddAsync(TKey key, Func<TKey, CancellationToken, ValueTask<TValue>> factory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(factory);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<TValue>(cancellationToken);
        }

        return TryGet(key, out var value) ? new ValueTask<TValue>(value) : GetOrAddSlowAsync(key, factory, cancellationToken);
    }

    private ConcurrentDictionary<TKey, PendingValue<TValue>> Inflight
    {
        get
        {
            var inflight = Volatile.Read(ref _inflight);
            if (inflight is null)
            {
                inflight = new ConcurrentDictionary<TKey, PendingValue<TValue>>(_comparer);
                inflight = Interlocked.CompareExchange(ref _inflight, inflight, null) ?? inflight;
            }

            return inflight;
        }
    }

    private bool TryPeek(TKey key, out TValue value)
    {
        if (_table.Find(key, _table.Hash(key)) is { } node && !(node.CheckOnRead && IsExpiredOrStale(node, _timeProvider.GetTimestamp())))
        {
            value = node.Value;
            return true;
        }

        value = default!;
        return false;
    }

    private TValue AddIfAbsent(TKey key, TValue value)
    {
        ObjectDisposedException.ThrowIf(_disposed, _owner);
        return Write(key, value, Weigh(key, value), 0, long.MaxValue, 0, AddIfAbsentMode, out _);
    }

    internal TValue GetOrAddSlow<TArg>(TKey key, Func<TKey, TArg, TValue> factory, TArg factoryArgument)
    {
        var inflight = Inflight;
        var spinner = default(SpinWait);
        while (true)
        {
            if (inflight.TryGetValue(key, out var pending))
            {
                if (pending.TryJoin())
                {
                    return pending.Task.GetAwaiter().GetResult();
                }

                spinner.SpinOnce();
                continue;
            }

            using var mine = new PendingValue<TValue>(cancellable: false);
            if (!inflight.TryAdd(key, mine))
            {
                continue;
            }

            try
            {
                // A caller that finished between our miss and our claim may already have stored the value.
                if (!TryPeek(key, out var value))
                {
                    value = AddIfAbsent(key, factory(key, factoryArgument));
                }

                mine.SetResult(value);
                return value;
            }
            catch (Exception ex)
            {
                mine.SetException(ex);
                throw;
            }
            finally
            {
                inflight.TryRemove(new KeyValuePair<TKey, PendingValue<TValue>>(key, mine));
            }
        }
    }

    private async ValueTask<TValue> GetOrAddSlowAsync(TKey key, Func<TKey, CancellationToken, ValueTask<TValue>> factory, CancellationToken cancellationToken)
    {
        var inflight = Inflight;
        PendingValue<TValue> pending;
        while (true)
        {
            if (inflight.TryGetValue(key, out pending!))
            {
                if (pending.TryJoin())
                {
                    break;
                }

                await Task.Yield();
                continue;
            }

            var mine = new PendingValue<TValue>(cancellable: true);
            if (!inflight.TryAdd(key, mine))
            {
                mine.Dispose();
                continue;
            }

            if (TryPeek(key, out var existing))
            {
                mine.SetResult(existing);
                inflight.TryRemove(new KeyValuePair<TKey, PendingValue<TValue>>(key, mine));
                mine.Dispose();
                return existing;
            }

            pending = mine;
#pragma warning disable CA2025 // RunFactoryAsync owns 'mine' from here on and disposes it when the factory finished.
            _ = RunFactoryAsync(inflight, key, factory, mine);
#pragma warning restore CA2025
            break;
        }

        try
        {
            return await pending.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !pending.Task.IsCompleted)
        {
            if (pending.Leave())
            {
                // Every waiter gave up: forget the call so the next caller starts afresh, and cancel the factory.
                inflight.TryRemove(new KeyValuePair<TKey, PendingValue<TValue>>(key, pending));
                pending.CancelFactory();
            }

            throw;
        }
    }

    private async Task RunFactoryAsync(
        ConcurrentDictionary<TKey, PendingValue<TValue>> inflight,
        TKey key,
        Func<TKey, CancellationToken, ValueTask<TValue>> factory,
        PendingValue<TValue> pending)
    {
        try
        {
            var value = await factory(key, pending.FactoryToken).ConfigureAwait(false);
            pending.SetResult(AddIfAbsent(key, value));
        }
        catch (Exception ex)
        {
            pending.SetException(ex);
        }
        finally
        {
            inflight.TryRemove(new KeyValuePair<TKey, PendingValue<TValue>>(key, pending));
            pending.Dispose();
        }
    }
}
