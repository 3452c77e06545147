using System.Runtime.CompilerServices;

namespace SafeRefs.Timers.Internal;

/// <summary>
/// The members of one <see cref="TimerScope"/>: timers, loops, delays, <c>CancelAfter</c> sources and child scopes, in
/// an array whose cells are reused. Not thread-safe: the scope calls every member under its lock, and nothing here
/// calls user code.
/// </summary>
/// <remarks>
/// A timer leaves its cell in place when it ends (it has no index, so ending costs the scope nothing); its cell is
/// reclaimed when the table needs room: at once if it is the member added last (create/dispose churn), else by a
/// sweep when the table is full. A sweep that frees less than a quarter of the table grows it instead, so adding
/// costs O(1) amortised. A member whose callback or body may still run keeps its cell, so the scope's
/// <c>DisposeAsync</c> still finds and waits for it.
/// </remarks>
internal sealed class ScopeMemberTable
{
    private Cell[] _cells = [];
    private int[] _free = [];
    private int _freeCount;
    private int _used;
    private int _recent; // the index of the member added last

    /// <summary>Gets the number of cells (for tests of cell reuse).</summary>
    public int Capacity => _cells.Length;

    /// <summary>Adds a timer; a timer added last that has ended and runs no callback gives up its cell inline.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddTimer(ScopedTimer timer)
    {
        var cells = _cells;
        var recent = _recent;
        if ((uint)recent < (uint)cells.Length && cells[recent].Member is ScopedTimer { IsActive: false } ended && !ended.IsRunning)
        {
            cells[recent].Member = timer;
            return;
        }

        Add(timer);
    }

    /// <summary>Adds a member; every member but a timer learns its index.</summary>
    public void Add(IScopeMember member)
    {
        var index = Claim();
        _cells[index].Member = member;
        if (member is not ScopedTimer)
        {
            member.Index = index;
        }
    }

    /// <summary>Removes a member that ended on its own, unless a callback or body of it may still run (a later sweep
    /// reclaims its cell then).</summary>
    public void Remove(IScopeMember member)
    {
        var index = member.Index;
        if (index < 0 || index >= _cells.Length || !ReferenceEquals(_cells[index].Member, member) || member.IsBusy)
        {
            return;
        }

        _cells[index].Member = null;
        member.Index = -1;
        _free[_freeCount++] = index;
    }

    /// <summary>Empties the table.</summary>
    /// <param name="used">How many cells of the returned array were in use (some may be empty).</param>
    /// <returns>The cells the table held.</returns>
    public Cell[] TakeAll(out int used)
    {
        var cells = _cells;
        used = _used;
        _cells = [];
        _free = [];
        _used = 0;
        _freeCount = 0;
        _recent = 0;
        return cells;
    }

    // A free index for a new member (which the caller stores there).
    private int Claim()
    {
        int index;
        if (_cells.Length > 0 && _cells[_recent].Member is ScopedTimer { IsActive: false } ended && !ended.IsRunning)
        {
            index = _recent;
        }
        else if (_freeCount > 0)
        {
            index = _free[--_freeCount];
        }
        else
        {
            if (_used == _cells.Length)
            {
                SweepOrGrow();
            }

            index = _freeCount > 0 ? _free[--_freeCount] : _used++;
        }

        _recent = index;
        return index;
    }

    // With the table full: reclaim the cells of members that ended (and run nothing), and grow unless at least a quarter
    // of the table came free.
    private void SweepOrGrow()
    {
        for (var i = 0; i < _used; i++)
        {
            // An ended timer or loop whose callback or body still runs stays, so DisposeAsync still waits for it.
            if (_cells[i].Member is { IsClosed: true, IsBusy: false } closed)
            {
                _cells[i].Member = null;
                closed.Index = -1;
                _free[_freeCount++] = i;
            }
        }

        if (_freeCount == 0 || _freeCount < _cells.Length / 4)
        {
            var capacity = Math.Max(4, _cells.Length * 2);
            Array.Resize(ref _cells, capacity);
            Array.Resize(ref _free, capacity);
        }
    }

    /// <summary>A cell of the table: a struct, so storing a member needs no covariant array-store check.</summary>
    internal struct Cell
    {
#pragma warning disable IDE1006, CA1051 // a public field of a struct private to the table and its scope, written by ref
        public IScopeMember? Member;
#pragma warning restore IDE1006, CA1051
    }
}
