namespace SafeRefs.Internal;

/// <summary>An item owned by a <see cref="Timers.TimerScope"/>: a timer, a loop, a delay, a cancellation source or a child scope.</summary>
internal interface IScopeMember
{
    /// <summary>Gets or sets the member's index in its scope's table (-1 when not in a table); guarded by the scope's gate.
    /// A timer keeps none (always -1): its slot is reclaimed by the scope's own scans, never through <c>Remove</c>.</summary>
    int Slot { get; set; }

    /// <summary>Gets a value indicating whether the member counts in <see cref="Timers.TimerScope.ActiveCount"/>.</summary>
    bool CountsAsActive { get; }

    /// <summary>Gets a value indicating whether the member has ended; the scope may then reuse its slot.</summary>
    bool IsClosed { get; }

    /// <summary>Gets a value indicating whether a callback or body of the member may still be running.</summary>
    bool IsBusy { get; }

    /// <summary>Gets a value indicating whether a callback (or the synchronous part of a loop body) of the member is
    /// running on the calling thread: a DisposeAsync awaited there would wait for itself.</summary>
    bool RunsOnCurrentThread { get; }

    /// <summary>Stops the member because its scope is being disposed; the scope has already removed it.</summary>
    void CloseFromScope();

    /// <summary>Completes when no callback or body of the (already closed) member is running.</summary>
    ValueTask WhenIdleAsync();
}
