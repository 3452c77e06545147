using System.Runtime.CompilerServices;

namespace SafeRefs.Internal;

/// <summary>
/// Four running totals (for example a pool's rented / returned / detached / leaks-suspected counts) that are
/// incremented without any interlocked operation: each thread adds to a cell of its own (one writer per cell, plain
/// atomic 64-bit stores), and a read sums every cell under a lock. Exact when read: every increment that happened
/// before the read (in the memory-model sense) is included.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> its cells strongly; a cell holds its thread weakly and never references the owner of the
/// counters, so the thread-static cache of a thread cannot keep a dead owner alive (it keeps at most
/// <see cref="CacheSize"/> small cells per thread).</para>
/// <para><b>Cleanup:</b> when a thread registers a new cell, the cells of dead threads and the cells their threads
/// evicted from their cache are folded into a base total and dropped, so the cell list stays bounded by the live
/// threads that use the counters.</para>
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

        var cell = new Cell(_id, Thread.CurrentThread);
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

    // Under _lock: a retired cell or a dead thread's cell is never written again; add it to the base and drop it.
    private bool Fold(Cell cell)
    {
        if (!Volatile.Read(ref cell.Retired) && cell.Thread.TryGetTarget(out var thread) && thread.IsAlive)
        {
            return false;
        }

        _base0 += Volatile.Read(ref cell.C0);
        _base1 += Volatile.Read(ref cell.C1);
        _base2 += Volatile.Read(ref cell.C2);
        _base3 += Volatile.Read(ref cell.C3);
        return true;
    }

    /// <summary>One thread's share of the four counters; only that thread writes it.</summary>
    internal sealed class Cell
    {
#pragma warning disable IDE1006 // fields of an internal cell, used by ref
        public long C0;
        public long C1;
        public long C2;
        public long C3;
        public bool Retired;
#pragma warning restore IDE1006

        public Cell(long ownerId, Thread thread)
        {
            OwnerId = ownerId;
            ThreadId = thread.ManagedThreadId;
            Thread = new WeakReference<Thread>(thread);
        }

        public long OwnerId { get; }

        /// <summary>Gets the managed thread id of the owner thread (saves callers a second thread-static read).</summary>
        public int ThreadId { get; }

        public WeakReference<Thread> Thread { get; }

        /// <summary>
        /// Gets a value indicating whether the owner thread has retired this cell. Exact when read by the owner thread
        /// (only it retires its cells): a cell kept across user code must be checked and replaced if retired.
        /// </summary>
        public bool IsRetired => Retired;

        /// <summary>Adds to counter 0 (owner thread only).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add0(long value) => Volatile.Write(ref C0, C0 + value);

        /// <summary>Adds to counter 1 (owner thread only).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add1(long value) => Volatile.Write(ref C1, C1 + value);

        /// <summary>Adds to counter 2 (owner thread only).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add2(long value) => Volatile.Write(ref C2, C2 + value);

        /// <summary>Adds to counter 3 (owner thread only).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add3(long value) => Volatile.Write(ref C3, C3 + value);
    }
}
