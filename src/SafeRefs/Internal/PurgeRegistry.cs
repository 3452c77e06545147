namespace SafeRefs.Internal;

/// <summary>
/// The library's one purge registry: every registered <see cref="IPurgeable"/> is checked after each gen-2 collection
/// (on the thread pool, through <see cref="Gen2Callback"/>) and, on a registering thread, once the registrations since
/// the last purge reach the number of registered items (at least 256), so the work stays proportional to the
/// registrations. Weak links (Subscriptions) and weak handler lists (Events) each have one instance.
/// </summary>
/// <remarks>
/// A <see cref="Lock"/> guards an array of items; each item knows its index, so leaving is a swap-remove. A purge copies
/// the items under the lock and checks them outside it: no user code runs under the lock, and purges may overlap,
/// because each item is detached exactly once, by the caller that claims it. An exception an item lets escape is
/// reported through the item and the purge goes on with the next one. Holds the items strongly until they leave.
/// </remarks>
internal sealed class PurgeRegistry
{
    private const int MinPurgeInterval = 256;

    private readonly Lock _lock = new();
    private readonly bool _purgeAfterGen2;
    private IPurgeable?[] _items = new IPurgeable?[16];
    private int _count;
    private int _countedCount;
    private int _registeredSincePurge;
    private bool _gen2Registered;
    private long _purgesCompleted;

    /// <summary>Initializes a new instance of the <see cref="PurgeRegistry"/> class.</summary>
    /// <param name="purgeAfterGen2"><see langword="false"/> for tests: purges run only when called or every so many registrations.</param>
    internal PurgeRegistry(bool purgeAfterGen2 = true) => _purgeAfterGen2 = purgeAfterGen2;

    /// <summary>Gets the number of registered items.</summary>
    internal int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>
    /// Gets the number of registered items that were registered as counted: an exact live count for a metric, kept
    /// under the lock that registering takes anyway instead of with interlocked operations of its own.
    /// </summary>
    internal int CountedCount
    {
        get
        {
            lock (_lock)
            {
                return _countedCount;
            }
        }
    }

    /// <summary>Gets the number of purges finished so far (tests wait on it instead of sleeping).</summary>
    internal long PurgesCompleted => Interlocked.Read(ref _purgesCompleted);

    /// <summary>Registers an item; may then purge on the calling thread (never throws for another item's failure).</summary>
    /// <param name="item">The item.</param>
    /// <param name="counted">Count it in <see cref="CountedCount"/> until it leaves (pass the same to <see cref="Unregister"/>).</param>
    internal void Register(IPurgeable item, bool counted = false)
    {
        bool purge;
        lock (_lock)
        {
            if (_count == _items.Length)
            {
                Array.Resize(ref _items, _count * 2);
            }

            item.RegistryIndex = _count;
            _items[_count++] = item;
            if (counted)
            {
                _countedCount++;
            }

            purge = ++_registeredSincePurge >= Math.Max(MinPurgeInterval, _count);
            if (purge)
            {
                _registeredSincePurge = 0;
            }

            if (_purgeAfterGen2 && !_gen2Registered)
            {
                _gen2Registered = true;
                Gen2Callback.AddSweep(() => Purge(onOwnThread: false));
            }
        }

        if (purge)
        {
            _ = Purge(onOwnThread: true);
        }
    }

    /// <summary>Removes an item (no-op when it was never registered or already removed).</summary>
    /// <param name="item">The item.</param>
    /// <param name="counted">What <see cref="Register"/> was given for it.</param>
    internal void Unregister(IPurgeable item, bool counted = false)
    {
        lock (_lock)
        {
            var index = item.RegistryIndex;
            if (index < 0)
            {
                return;
            }

            var last = _items[--_count]!;
            _items[index] = last;
            last.RegistryIndex = index;
            _items[_count] = null;
            item.RegistryIndex = -1;
            if (counted)
            {
                _countedCount--;
            }

            if (_items.Length > 64 && _count < _items.Length / 4)
            {
                Array.Resize(ref _items, _items.Length / 2);
            }
        }
    }

    /// <summary>Purges every registered item; never throws.</summary>
    /// <param name="onOwnThread"><see langword="false"/> for the thread-pool purge (see <see cref="IPurgeable.TryPurge"/>).</param>
    /// <returns>The number of items this purge detached.</returns>
    internal int Purge(bool onOwnThread = true)
    {
        IPurgeable?[] items;
        int count;
        lock (_lock)
        {
            count = _count;
            items = new IPurgeable?[count];
            Array.Copy(_items, items, count);
        }

        var detached = 0;
        for (var i = 0; i < count; i++)
        {
            var item = items[i]!;
            try
            {
                if (item.TryPurge(onOwnThread))
                {
                    detached++;
                }
            }
#pragma warning disable CA1031 // One item's failure (a throwing metric listener) must not stop the purge.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                item.ReportPurgeFailed(ex);
            }
        }

        Interlocked.Increment(ref _purgesCompleted);
        return detached;
    }
}
