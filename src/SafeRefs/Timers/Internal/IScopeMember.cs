namespace SafeRefs.Timers.Internal;

/// <summary>An item owned by a <see cref="Timers.TimerScope"/>: a timer, a loop, a delay, a cancellation source or a child scope.</summary>
internal interface IScopeMember
{
    /// <summary>Gets or sets the member's index in its scope's <see cref="ScopeMemberTable"/> (-1 when not in a table);
    /// guarded by the scope's lock. A timer keeps none (always -1): its cell is reclaimed by the table's own scans,
    /// never through <see cref="ScopeMemberTable.Remove"/>.</summary>
    int Index { get; set; }

    /// <summary>Gets a value indicating whether the member has ended; the table may then reuse its cell.</summary>
    bool IsClosed { get; }

    /// <summary>Gets a value indicating whether a callback or body of the member may still be running.</summary>
    bool IsBusy { get; }

    /// <summary>Stops the member because its scope is being disposed; the scope has already removed it.</summary>
    /// <param name="report">Whether the disposal has no caller to throw to (the scope's <c>lifetime</c> token ended
    /// it): then each failure is reported as the member reports it where nobody asked for the close (the clock's as
    /// the clock's), and nothing is thrown.</param>
    /// <exception cref="Exception">Without <paramref name="report"/>: what token callbacks or the clock threw; the
    /// member is closed all the same.</exception>
    void CloseFromScope(bool report);

    /// <summary>Completes when no callback or body of the (already closed) member is running.</summary>
    ValueTask WhenIdleAsync();
}
