using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions;

/// <summary>
/// Owns subscriptions (or any <see cref="IDisposable"/>) for one lifetime and disposes them together, last in first
/// out. Optionally tied to a <see cref="CancellationToken"/>: when it is cancelled the bag disposes itself.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> its items strongly until it is disposed or they are removed; once disposed, only its
/// <see cref="SubscriptionBag"/> items, and its <see cref="Subscription"/>, <c>TimerScope</c>, <c>ScopedTimer</c> and
/// <c>ScopedLoop</c> items until no callback of them runs (a later <see cref="DisposeAsync"/> waits for those
/// callbacks). It registers one callback on the
/// lifetime token given to the constructor and unregisters it when disposed, so a disposed bag leaves nothing behind on
/// a long-lived token. Its own <see cref="Lifetime"/> source is created on first use.</para>
/// <para><b>Thread safety:</b> all members are thread-safe. <see cref="Add{T}(T)"/> and <see cref="Remove(IDisposable)"/>
/// are O(1) (amortized; the index that makes <see cref="Remove(IDisposable)"/> O(1) is built on the first removal). An
/// item added twice is held twice; <see cref="Remove(IDisposable)"/> takes out its most recent addition and does not
/// dispose it.</para>
/// <para><b>Dispose:</b> cancels <see cref="Lifetime"/>, then disposes every item in reverse order of addition, even if
/// some throw, then throws one <see cref="AggregateException"/> with every failure in that order (<see cref="Lifetime"/>'s
/// callbacks first; <see cref="DisposeAsync"/> lists them in the same order). A second or concurrent
/// <see cref="Dispose"/> does nothing (a concurrent one may return before the first has disposed the items).
/// <see cref="DisposeAsync"/> first disposes every <see cref="Subscription"/>, <see cref="SubscriptionBag"/>,
/// <c>TimerScope</c>, <c>ScopedTimer</c> and <c>ScopedLoop</c> item, last in first out, before it awaits anything, so
/// no callback of them (nor of a nested bag's such items) starts after the call has returned; it then goes through the
/// items last in first out, awaiting the end of those items' running callbacks and disposing each other item (awaiting
/// its <see cref="IAsyncDisposable.DisposeAsync"/> where it has one): an item added before one of those is disposed
/// once that one's running callbacks have returned. A <see cref="DisposeAsync"/> after or during an earlier disposal
/// disposes all of those items again in the same way (during it, it may so dispose one before the earlier disposal
/// reaches it), then awaits their running callbacks, and disposes no other item: it completes
/// when no callback of those items runs, and, awaited inside one of their own callbacks (also after an
/// <see langword="await"/> in it), faults (an <see cref="InvalidOperationException"/> in the <see cref="AggregateException"/>)
/// instead of waiting for itself. When the lifetime token given
/// to the constructor is cancelled, the bag is disposed on the cancelling thread; item failures are then logged through
/// <see cref="Diagnostics.SafeRefsLog"/> (event 1004) and counted (<c>saferefs.subscription.callback.failures</c>), never thrown into the canceller.</para>
/// </remarks>
public sealed class SubscriptionBag : IDisposable, IAsyncDisposable, IIdleAwaitable
{
    private readonly Lock _lock = new();
    private readonly CancellationTokenRegistration _lifetimeRegistration;
    private IDisposable?[] _items = [];
    private Dictionary<IDisposable, List<int>>? _index;
    private int _end;
    private int _count;
    private bool _disposed;
    private CancellationTokenSource? _lifetime;

    // The items taken by the first disposal, from its start: a later DisposeAsync (a lease's end among them) awaits
    // those whose running callbacks it can wait for; the first disposal nulls the others when it has gone through
    // them (a disposed bag holds no other user object).
    private IDisposable?[] _disposedItems = [];
    private int _disposedEnd;

    /// <summary>Initializes a new instance of the <see cref="SubscriptionBag"/> class.</summary>
    /// <param name="lifetime">When cancelled, the bag disposes itself; <see langword="default"/> for none.</param>
    public SubscriptionBag(CancellationToken lifetime = default)
    {
        if (lifetime.CanBeCanceled)
        {
            _lifetimeRegistration = lifetime.UnsafeRegister(static state => ((SubscriptionBag)state!).DisposeOnLifetimeEnd(), this);
        }
    }

    /// <summary>Gets a token that is cancelled when the bag is disposed: bind per-lifetime work to it.</summary>
    /// <value>An already-cancelled token once the bag is disposed.</value>
    public CancellationToken Lifetime
    {
        get
        {
            lock (_lock)
            {
                if (_disposed)
                {
                    return new CancellationToken(canceled: true);
                }

                _lifetime ??= new CancellationTokenSource();
                return _lifetime.Token;
            }
        }
    }

    /// <summary>Gets the number of items the bag holds.</summary>
    /// <value>0 once disposed.</value>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>Gets a value indicating whether the bag has been disposed.</summary>
    /// <value><see langword="true"/> from the start of the first <see cref="Dispose"/> or <see cref="DisposeAsync"/>.</value>
    public bool IsDisposed
    {
        get
        {
            lock (_lock)
            {
                return _disposed;
            }
        }
    }

    /// <summary>Adds <paramref name="item"/>; if the bag is already disposed, disposes it at once instead.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="item">The item.</param>
    /// <returns><paramref name="item"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="item"/> is <see langword="null"/>.</exception>
    public T Add<T>(T item)
        where T : IDisposable
    {
        ArgumentNullException.ThrowIfNull(item);
        IDisposable disposable = item;
        lock (_lock)
        {
            if (!_disposed)
            {
                if (_end == _items.Length)
                {
                    Grow();
                }

                if (_index is not null)
                {
                    PositionsOf(_index, disposable).Add(_end);
                }

                _items[_end++] = disposable;
                _count++;
                return item;
            }
        }

        disposable.Dispose();
        return item;
    }

    /// <summary>
    /// Removes the most recent addition of <paramref name="item"/> without disposing it (unlike Rx's
    /// <c>CompositeDisposable.Remove</c>, which disposes it). An item added twice needs two removals. A value-type item
    /// (a boxed <see cref="CancellationTokenRegistration"/>, say) is found by value equality, a reference type by identity.
    /// O(1) amortized.
    /// </summary>
    /// <param name="item">The item.</param>
    /// <returns><see langword="true"/> if the bag held it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="item"/> is <see langword="null"/>.</exception>
    public bool Remove(IDisposable item)
    {
        ArgumentNullException.ThrowIfNull(item);
        lock (_lock)
        {
            _index ??= BuildIndex();
            if (!_index.TryGetValue(item, out var positions))
            {
                return false;
            }

            var position = positions[^1];
            positions.RemoveAt(positions.Count - 1);
            if (positions.Count == 0)
            {
                _index.Remove(item);
            }

            _items[position] = null;
            _count--;
            if (position == _end - 1)
            {
                while (_end > 0 && _items[_end - 1] is null)
                {
                    _end--;
                }
            }
            else if (_end - _count > 32 && _end - _count > _count)
            {
                Compact();
                _index = null; // items moved: positions rebuilt on the next removal
            }

            return true;
        }
    }

    /// <summary>Cancels <see cref="Lifetime"/> and disposes every item, last in first out.</summary>
    /// <exception cref="AggregateException">One or more items (or <see cref="Lifetime"/> callbacks) threw; all were still disposed.</exception>
    public void Dispose()
    {
        if (!TakeAll(out var items, out var end, out var lifetime))
        {
            return;
        }

        List<Exception>? errors = null;
        try
        {
            Cancel(lifetime, ref errors);
            for (var i = end - 1; i >= 0; i--)
            {
                if (items[i] is { } item)
                {
                    try
                    {
                        item.Dispose();
                    }
#pragma warning disable CA1031 // every item is disposed; failures are rethrown together
                    catch (Exception ex)
#pragma warning restore CA1031
                    {
                        (errors ??= []).Add(ex);
                    }
                }
            }
        }
        finally
        {
            EndDisposal(items, end);
        }

        ThrowIfAny(errors);
    }

    /// <summary>
    /// Cancels <see cref="Lifetime"/> and disposes every item, last in first out, awaiting
    /// <see cref="IAsyncDisposable.DisposeAsync"/> where an item has it; the subscription, bag and timer items are all
    /// disposed first, before it awaits any item (see the remarks of the class).
    /// </summary>
    /// <returns>A task that completes when every item is disposed; after or during an earlier disposal, when no
    /// callback of the subscription, bag and timer items runs.</returns>
    /// <exception cref="AggregateException">One or more items threw; all were still disposed. The failures are listed in
    /// disposal order, last in first out, as by <see cref="Dispose"/> (an item's failure at its place however early it
    /// was disposed).</exception>
    public ValueTask DisposeAsync() => DisposeAllAsync(checkOwnCallback: true, visited: null);

    /// <summary>As <see cref="DisposeAsync"/>, but the wait for an item's running callback (a subscription's, a timer
    /// item's, a nested bag's) does not fault inside that callback (it completes once the callback has returned): for a
    /// pool lease or a bag that tracks the bag, which joins this wait instead of awaiting it.</summary>
    ValueTask IIdleAwaitable.DisposeThenWhenIdleAsync() => DisposeAllAsync(checkOwnCallback: false, visited: null);

    /// <summary>Gets whether the caller runs inside a callback of one of the bag's items (also after the bag's
    /// disposal) that a wait for the item would wait for forever.</summary>
    bool IIdleAwaitable.IsCallingFromOwnCallback => IsCallingFromOwnCallback(visited: null);

    // visited: the bags this call already went through (null before the first nested bag), so that a bag that holds
    // itself, directly or through other bags, is not gone through again, forever.
    private bool IsCallingFromOwnCallback(List<SubscriptionBag>? visited)
    {
        // Nested bags are asked outside this bag's lock: two bags that hold each other never wait for each other's lock.
        List<SubscriptionBag>? nested = null;
        lock (_lock)
        {
            var (items, end) = _disposed ? (_disposedItems, _disposedEnd) : (_items, _end);
            for (var i = 0; i < end; i++)
            {
                switch (items[i])
                {
                    case SubscriptionBag bag:
                        (nested ??= []).Add(bag);
                        break;
                    case IIdleAwaitable { IsCallingFromOwnCallback: true }:
                        return true;
                    default:
                        break;
                }
            }
        }

        for (var i = 0; nested is not null && i < nested.Count; i++)
        {
            if (Visit(nested[i], ref visited) && nested[i].IsCallingFromOwnCallback(visited))
            {
                return true;
            }
        }

        return false;
    }

    // Whether this call reaches bag for the first time; visited: the bags it went through (null before the first).
    private bool Visit(SubscriptionBag bag, ref List<SubscriptionBag>? visited)
    {
        visited ??= [this];
        if (visited.Contains(bag))
        {
            return false;
        }

        visited.Add(bag);
        return true;
    }

    // A nested bag is disposed, or waited for, only if this call has not gone through it yet (see visited).
    private ValueTask DisposeItemAsync(IIdleAwaitable item, bool checkOwnCallback, ref List<SubscriptionBag>? visited)
    {
        if (item is SubscriptionBag bag)
        {
            return Visit(bag, ref visited) ? bag.DisposeAllAsync(checkOwnCallback, visited) : default;
        }

        return checkOwnCallback ? item.DisposeAsync() : item.DisposeThenWhenIdleAsync();
    }

    private async ValueTask DisposeAllAsync(bool checkOwnCallback, List<SubscriptionBag>? visited)
    {
        if (!TakeAll(out var items, out var end, out var lifetime))
        {
            await WaitForItemsAsync(checkOwnCallback, visited).ConfigureAwait(false);
            return;
        }

        List<Exception>? errors = null;
        try
        {
            Cancel(lifetime, ref errors);
            var waits = StartDisposals(items, end, checkOwnCallback, ref visited);
            for (var i = end - 1; i >= 0; i--)
            {
                try
                {
                    switch (items[i])
                    {
                        case IIdleAwaitable:
                            if (waits is not null)
                            {
                                await waits[i].ConfigureAwait(false);
                            }

                            break;
                        case IAsyncDisposable asyncItem:
                            await asyncItem.DisposeAsync().ConfigureAwait(false);
                            break;
                        case { } item:
                            item.Dispose();
                            break;
                        default:
                            break;
                    }
                }
#pragma warning disable CA1031 // every item is disposed; failures are rethrown together
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    (errors ??= []).Add(ex);
                }
            }
        }
        finally
        {
            EndDisposal(items, end);
        }

        ThrowIfAny(errors);
    }

    /// <summary>The first disposal went through the items: lets go of those whose callbacks a later wait cannot wait
    /// for, and of each other (disposed) item once no callback of it runs, when a later wait has nothing left to wait
    /// for (a disposed child timer scope would keep its parent scope). Nested bags stay: each lets go of its own.</summary>
    private static void EndDisposal(IDisposable?[] items, int end)
    {
        for (var i = 0; i < end; i++)
        {
            switch (items[i])
            {
                case SubscriptionBag:
                    break;
                case IIdleAwaitable item:
                    // Disposed already: a second disposal does nothing and returns the wait for its running callbacks.
                    var idle = item.DisposeThenWhenIdleAsync();
                    if (idle.IsCompletedSuccessfully)
                    {
                        items[i] = null;
                    }
                    else
                    {
                        _ = ForgetWhenIdleAsync(items, i, idle);
                    }

                    break;
                default:
                    items[i] = null;
                    break;
            }
        }
    }

    private static async Task ForgetWhenIdleAsync(IDisposable?[] items, int index, ValueTask idle)
    {
        try
        {
            await idle.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Only the wait's end matters here; the disposals reported their failures.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        Volatile.Write(ref items[index], null);
    }

    /// <summary>
    /// A <see cref="DisposeAsync"/> after or during an earlier disposal: disposes each <see cref="IIdleAwaitable"/> item
    /// again (thread-safe with the earlier disposal's), then awaits their waits for running callbacks. It never waits
    /// for the earlier disposal itself, which may be waiting for the very callback this call runs in; the item's own
    /// <see cref="Subscription.DisposeAsync"/> faults there instead of waiting for itself.
    /// </summary>
    private async ValueTask WaitForItemsAsync(bool checkOwnCallback, List<SubscriptionBag>? visited)
    {
        IDisposable?[] items;
        int end;
        lock (_lock)
        {
            items = _disposedItems;
            end = _disposedEnd;
        }

        List<Exception>? errors = null;
        var waits = StartDisposals(items, end, checkOwnCallback, ref visited);
        for (var i = end - 1; waits is not null && i >= 0; i--)
        {
            try
            {
                await waits[i].ConfigureAwait(false);
            }
#pragma warning disable CA1031 // every item is waited for; failures are rethrown together
            catch (Exception ex)
#pragma warning restore CA1031
            {
                (errors ??= []).Add(ex);
            }
        }

        ThrowIfAny(errors);
    }

    /// <summary>
    /// Disposes every <see cref="IIdleAwaitable"/> item, last in first out, before awaiting any of their waits: each
    /// detaches synchronously, so none of their callbacks starts once the caller (a lease's end) gets the first pending
    /// wait. Returns the waits that are pending or failed by item position (null if none; a default entry is complete),
    /// so that the caller reports each failure at its item's place in the disposal order.
    /// </summary>
    private ValueTask[]? StartDisposals(IDisposable?[] items, int end, bool checkOwnCallback, ref List<SubscriptionBag>? visited)
    {
        ValueTask[]? waits = null;
        for (var i = end - 1; i >= 0; i--)
        {
            if (items[i] is IIdleAwaitable item)
            {
                ValueTask wait;
                try
                {
                    wait = DisposeItemAsync(item, checkOwnCallback, ref visited);
                    if (wait.IsCompletedSuccessfully)
                    {
                        wait.GetAwaiter().GetResult();
                        continue;
                    }
                }
#pragma warning disable CA1031 // every item is disposed; the caller rethrows the failures together
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    wait = ValueTask.FromException(ex);
                }

                (waits ??= new ValueTask[end])[i] = wait;
            }
        }

        return waits;
    }

    /// <summary>
    /// The lifetime token's callback: whoever cancelled it (a <c>CancelAfter</c> timer, a host shutting down) did not
    /// dispose these items, so their failures are logged and counted instead of thrown into that thread.
    /// </summary>
    private void DisposeOnLifetimeEnd()
    {
        try
        {
            Dispose();
        }
        catch (AggregateException ex)
        {
            Metrics.SubscriptionInstruments.BagDisposeFailed(ex);
        }
    }

    private static void Cancel(CancellationTokenSource? lifetime, ref List<Exception>? errors)
    {
        if (lifetime is null)
        {
            return;
        }

        try
        {
            lifetime.Cancel();
        }
        catch (AggregateException ex)
        {
            (errors ??= []).AddRange(ex.InnerExceptions);
        }
        finally
        {
            lifetime.Dispose();
        }
    }

    private static void ThrowIfAny(List<Exception>? errors)
    {
        if (errors is not null)
        {
            throw new AggregateException("One or more items of the subscription bag failed to dispose.", errors);
        }
    }

    private bool TakeAll(out IDisposable?[] items, out int end, out CancellationTokenSource? lifetime)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                items = [];
                end = 0;
                lifetime = null;
                return false;
            }

            _disposed = true;
            items = _items;
            end = _end;
            lifetime = _lifetime;
            _disposedItems = items;
            _disposedEnd = end;
            _items = [];
            _index = null;
            _end = 0;
            _count = 0;
            _lifetime = null;
        }

        // Leaves nothing on the constructor's token; never waits (we may be running inside its callback).
        _lifetimeRegistration.Unregister();
        return true;
    }

    private static List<int> PositionsOf(Dictionary<IDisposable, List<int>> index, IDisposable item)
    {
        if (!index.TryGetValue(item, out var positions))
        {
            positions = [];
            index[item] = positions;
        }

        return positions;
    }

    private Dictionary<IDisposable, List<int>> BuildIndex()
    {
        var index = new Dictionary<IDisposable, List<int>>(_count, ItemComparer.Instance);
        for (var i = 0; i < _end; i++)
        {
            if (_items[i] is { } item)
            {
                PositionsOf(index, item).Add(i);
            }
        }

        return index;
    }

    private void Grow()
    {
        var grown = new IDisposable?[Math.Max(8, _items.Length * 2)];
        Array.Copy(_items, grown, _end);
        _items = grown;
    }

    private void Compact()
    {
        var write = 0;
        for (var read = 0; read < _end; read++)
        {
            if (_items[read] is { } item)
            {
                _items[write] = item;
                write++;
            }
        }

        Array.Clear(_items, write, _end - write);
        _end = write;
    }

    /// <summary>Identity for reference types; value equality for boxed value types (each box is a new object).</summary>
    private sealed class ItemComparer : IEqualityComparer<IDisposable>
    {
        public static readonly ItemComparer Instance = new();

        public bool Equals(IDisposable? x, IDisposable? y) =>
            ReferenceEquals(x, y) || (x is not null && y is not null && x.GetType().IsValueType && x.Equals(y));

        public int GetHashCode(IDisposable obj) =>
            obj.GetType().IsValueType ? obj.GetHashCode() : System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
    }
}
