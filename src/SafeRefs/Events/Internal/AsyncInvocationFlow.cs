namespace SafeRefs.Events.Internal;

/// <summary>
/// The <c>Subscribe</c> entries of an <see cref="AsyncWeakEvent{TArgs}"/> whose asynchronous handler the current flow
/// of execution runs inside, also after an <see langword="await"/> in it, so that a <c>DisposeAsync</c> that would
/// wait for that handler faults instead of waiting for itself. An <see cref="AsyncLocal{T}"/> set by the raise around
/// the call of each owner handler: it flows into the handler's continuations. Only that call pays for it.
/// </summary>
/// <remarks>Work a handler starts and leaves running inherits the frame too; the check therefore also asks whether the
/// entry still runs an invocation.</remarks>
internal static class AsyncInvocationFlow
{
    private static readonly AsyncLocal<Frame?> Current = new();

    /// <summary>Marks the flow as running inside a handler of <paramref name="entry"/>; pass the result to <see cref="Exit"/>.</summary>
    /// <param name="entry">The entry whose handler is about to be called.</param>
    /// <returns>The frame to restore.</returns>
    internal static Frame? Enter(WeakHandlerEntry entry)
    {
        var outer = Current.Value;
        Current.Value = new Frame(entry, outer);
        return outer;
    }

    /// <summary>Restores the frame <see cref="Enter"/> returned, once the handler's task has completed.</summary>
    /// <param name="outer">The frame to restore.</param>
    internal static void Exit(Frame? outer) => Current.Value = outer;

    /// <summary>Gets whether the current flow runs inside a still running handler of <paramref name="entry"/>.</summary>
    /// <param name="entry">The entry.</param>
    /// <returns><see langword="true"/> if a call of its handler encloses the current flow and has not completed.</returns>
    internal static bool IsInsideRunning(WeakHandlerEntry entry)
    {
        if (entry.RunningCount == 0)
        {
            return false;
        }

        for (var frame = Current.Value; frame is not null; frame = frame.Outer)
        {
            if (ReferenceEquals(frame.Entry, entry))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>One call of a handler, inside the calls that enclose it (a handler that raises another event).</summary>
    internal sealed class Frame(WeakHandlerEntry entry, Frame? outer)
    {
        public WeakHandlerEntry Entry { get; } = entry;

        public Frame? Outer { get; } = outer;
    }
}
