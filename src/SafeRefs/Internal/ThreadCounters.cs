using System.Runtime.CompilerServices;

namespace SafeRefs.Internal;

/// <summary>
/// Four running totals (for example a pool's rented / returned / detached / leaks-suspected counts) that are
/// incremented without any interlocked operation: each writer adds to a cell of its own (one writer per cell at a
/// time, plain atomic 64-bit stores), and a read sums every cell under a lock. Exact when read: every increment that
/// happened before the read (in the memory-model sense) is included. A cell belongs either to a thread
/// (<see cref="Local"/>) or to an object whose users hand it on to each other in order (<see cref="Attach"/>; for
/// example a pooled object's guard state, written only by whoever has the object out), which spares the writer the
/// thread-static lookup.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> its cells strongly; a cell holds its thread or object weakly and never references the owner of
/// the counters, so the thread-static cache of a thread cannot keep a dead owner alive (it keeps at most
/// <see cref="CacheSize"/> small cells per thread).</para>
/// <para><b>Cleanup:</b> when a new cell is registered, the cells of dead threads, of collected objects and the cells
/// threads evicted from their cache are folded into a base total and dropped, so the cell list stays bounded by the
/// live threads and objects that use the counters.</para>
/// <para><b>Thread safety:</b> thread-safe.</para>
/// </remarks>
internal sealed class ThreadCounters
{
    /// <summary>The cells one thread keeps for the counters it uses; the oldest is evicted (retired) beyond this.</summary>
    internal const int CacheSize = 8;

    private static long _nextId;

    [ThreadStatic]
    private static Cell? _last;

    [ThreadStatic]
    private static Cell?[]? _cache;

    [ThreadStatic]
    private static int _nextEviction;

    private readonly long _id = Interlocked.Increment(ref _nextId);
    private readonly Lock _lock = new();
    private readonly List<Cell> _cells = [];
    private long _base0;
    private long _base1;
    private long _base2;
    private long _base3;

    /// <summary>Gets how many cells are registered (live or not yet folded); for tests.</summary>
    internal int CellCount
    {
        get
        {
            lock (_lock)
            {
                return _cells.Count;
            }
        }
    }

    /// <summary>
    /// Gets the calling thread's cell for these counters, registering one on first use. Use it on that thread only: a
    /// thread that uses more than <see cref="CacheSize"/> counters retires its oldest cells, so a cell kept across code
    /// that may use other counters (user callbacks) must be checked with <see cref="Cell.IsRetired"/> before writing.
    /// </summary>
    internal Cell Local
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var cell = _last;
            return cell is not null && cell.OwnerId == _id ? cell : LocalSlow();
        }
    }

    /// <summary>
    /// Registers a cell for <paramref name="owner"/>, held weakly: whoever writes it must be the only writer at any
    /// time (successive writers ordered by a handoff, such as a pool's compare-and-swap). Its totals stay counted after
    /// the owner is collected.
    /// </summary>
    /// <param name="owner">The object the cell belongs to.</param>
    /// <returns>The cell.</returns>
    internal Cell Attach(object owner)
    {
        var cell = new Cell(_id, owner, threadId: 0);
        Register(cell);
        return cell;
    }

    /// <summary>Sums every counter. Counter 1 is read before counter 0, so that 0 − 1 is never below the true value.</summary>
    internal void Read(out long c0, out long c1, out long c2, out long c3)
    {
        lock (_lock)
        {
            long s0 = _base0, s1 = _base1, s2 = _base2, s3 = _base3;
            foreach (var cell in _cells)
            {
                s1 += Volatile.Read(ref cell.C1);
            }

            foreach (var cell in _cells)
            {
                s0 += Volatile.Read(ref cell.C0);
                s2 += Volatile.Read(ref cell.C2);
                s3 += Volatile.Read(ref cell.C3);
            }

            (c0, c1, c2, c3) = (s0, s1, s2, s3);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Cell LocalSlow()
    {
        var cache = _cache ??= new Cell?[CacheSize];
        foreach (var cached in cache)
        {
            if (cached is not null && cached.OwnerId == _id)
            {
                _last = cached;
                return cached;
            }
        }

        var thread = Thread.CurrentThread;
        var cell = new Cell(_id, thread, thread.ManagedThreadId);
        Register(cell);
        var index = _nextEviction;
        _nextEviction = (index + 1) % CacheSize;

        // The evicted cell's thread (this one) never writes it again; the next registration folds it.
        if (cache[index] is { } evicted)
        {
            Volatile.Write(ref evicted.Retired, true);
        }

        cache[index] = cell;
        _last = cell;
        return cell;
    }

    private void Register(Cell cell)
    {
        lock (_lock)
        {
            _cells.RemoveAll(Fold);
            _cells.Add(cell);
        }
    }

    // Under _lock: a retired cell, a dead thread's cell or a collected object's cell is never written again; add it to
    // the base and drop it.
    private static bool IsLive(Cell cell) =>
        !Volatile.Read(ref cell.Retired) && cell.Owner.TryGetTarget(out var owner) && (owner is not Thread thread || thread.IsAlive);

    private bool Fold(Cell cell)
    {
        if (IsLive(cell))
        {
            return false;
        }

        _base0 += Volatile.Read(ref cell.C0);
        _base1 += Volatile.Read(ref cell.C1);
        _base2 += Volatile.Read(ref cell.C2);
        _base3 += Volatile.Read(ref cell.C3);
        return true;
    }

    /// <summary>One thread's (or one object's) share of the four counters; only one writer at a time.</summary>
    internal sealed class Cell
    {
#pragma warning disable IDE1006 // fields of an internal cell, used by ref
        public long C0;
        public long C1;
        public long C2;
        public long C3;
        public bool Retired;
#pragma warning restore IDE1006

        public Cell(long ownerId, object owner, int threadId)
        {
            OwnerId = ownerId;
            ThreadId = threadId;
            Owner = new WeakReference<object>(owner);
        }

        public long OwnerId { get; }

        /// <summary>Gets the managed thread id of the owner thread (saves callers a second thread-static read); 0 for an object's cell.</summary>
        public int ThreadId { get; }

        /// <summary>Gets the thread or object the cell belongs to, held weakly.</summary>
        public WeakReference<object> Owner { get; }

        /// <summary>
        /// Gets a value indicating whether the owner thread has retired this cell. Exact when read by the owner thread
        /// (only it retires its cells): a cell kept across user code must be checked and replaced if retired.
        /// </summary>
        public bool IsRetired => Retired;

        /// <summary>Adds to counter 0 (the cell's writer only).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add0(long value) => Volatile.Write(ref C0, C0 + value);

        /// <summary>Adds to counter 1 (the cell's writer only).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add1(long value) => Volatile.Write(ref C1, C1 + value);

        /// <summary>Adds to counter 2 (the cell's writer only).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add2(long value) => Volatile.Write(ref C2, C2 + value);

        /// <summary>Adds to counter 3 (the cell's writer only).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add3(long value) => Volatile.Write(ref C3, C3 + value);
    }
}
