namespace SafeRefs.Internal;

/// <summary>
/// The user callbacks (timer callbacks, loop bodies, asynchronous event handlers) the current flow of execution runs
/// inside, also after an <see langword="await"/> in one of them, so that a <c>DisposeAsync</c> that would wait for one
/// of them faults instead of waiting for itself. An <see cref="AsyncLocal{T}"/> set around the call: it flows into the
/// callback's continuations. Only the calls that are marked pay for it (a frame and the context change per call).
/// </summary>
/// <remarks>Work a callback starts and leaves running (a task it does not await) inherits the frame too; callers
/// therefore also ask whether the source still runs a call.</remarks>
internal static class EnclosingCallbacks
{
    private static readonly AsyncLocal<Frame?> Current = new();

    /// <summary>Gets the innermost call that encloses the current flow, or <see langword="null"/>; walk outwards
    /// through <see cref="Frame.Outer"/>.</summary>
    internal static Frame? Innermost => Current.Value;

    /// <summary>Marks the flow as running inside a callback of <paramref name="source"/>; pass the result to
    /// <see cref="Exit"/>.</summary>
    /// <param name="source">The object whose callback is about to be called (a timer, a loop, an event's entry).</param>
    /// <param name="state">What the caller reads back from the frame later (a timer's scope), or <see langword="null"/>.</param>
    /// <returns>The frame to restore.</returns>
    internal static Frame? Enter(object source, object? state = null)
    {
        var outer = Current.Value;
        Current.Value = new Frame(source, state, outer);
        return outer;
    }

    /// <summary>Restores the frame <see cref="Enter"/> returned, once the call (or its task) has returned.</summary>
    /// <param name="outer">The frame to restore.</param>
    internal static void Exit(Frame? outer) => Current.Value = outer;

    /// <summary>Gets whether a call of a callback of <paramref name="source"/> encloses the current flow.</summary>
    /// <param name="source">The object passed to <see cref="Enter"/>.</param>
    /// <returns><see langword="true"/> if such a call encloses the current flow, finished or not.</returns>
    internal static bool IsInside(object source)
    {
        for (var frame = Current.Value; frame is not null; frame = frame.Outer)
        {
            if (ReferenceEquals(frame.Source, source))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>One call of a callback, inside the calls that enclose it (a fake clock advanced from a timer callback,
    /// a handler that raises another event).</summary>
    internal sealed class Frame(object source, object? state, Frame? outer)
    {
        public object Source { get; } = source;

        public object? State { get; } = state;

        public Frame? Outer { get; } = outer;
    }
}
