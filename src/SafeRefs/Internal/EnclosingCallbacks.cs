namespace SafeRefs.Internal;

/// <summary>
/// The user callbacks (timer callbacks, loop bodies, asynchronous event handlers) the current flow of execution runs
/// inside, also after an <see langword="await"/> in one of them, so that a <c>DisposeAsync</c> that would wait for one
/// of them faults instead of waiting for itself. An <see cref="AsyncLocal{T}"/> set around the call: it flows into the
/// callback's continuations. Only the calls that are marked pay for it (a frame and the context change per call).
/// </summary>
/// <remarks>Work a callback starts and leaves running (a task it does not await) inherits the frame too, and may
/// outlive the call: each frame therefore says when its call ended (for an asynchronous body, as soon as the body's task
/// completed, before its owner's continuation runs), and ended frames enclose nothing. Whether another call of the same
/// source runs does not matter.
/// <para>One window stays open, by construction: an asynchronous body's task is known only once the call that started
/// the body has returned it, so a body that first yields and then completes on another thread before its owner has
/// passed that task to <see cref="Frame.EndsWith"/> (a few instructions on the starting thread) is seen as running by
/// work it left running that checks in that instant; such a check faults where a moment later it would wait. Closing it
/// would need the body's completion before the body's task exists, which only a second completion signal (with a window
/// of its own) could give.</para></remarks>
internal static class EnclosingCallbacks
{
    private static readonly AsyncLocal<Frame?> Current = new();

    /// <summary>Gets the innermost frame of the current flow, or <see langword="null"/>; walk outwards through
    /// <see cref="Frame.Outer"/>, skipping the frames that <see cref="Frame.HasEnded"/>.</summary>
    internal static Frame? Innermost => Current.Value;

    /// <summary>Marks the flow as running inside a call of a callback of <paramref name="source"/>; pass the result
    /// to <see cref="Exit"/>, or to <see cref="Leave"/> and later <see cref="Frame.End"/>.</summary>
    /// <param name="source">The object whose callback is about to be called (a timer, a loop, an event's entry).</param>
    /// <param name="state">What the caller reads back from the frame later (a timer's scope), or <see langword="null"/>.</param>
    /// <returns>The call's frame.</returns>
    internal static Frame Enter(object source, object? state = null)
    {
        var frame = new Frame(source, state, Current.Value);
        Current.Value = frame;
        return frame;
    }

    /// <summary>Ends the call <paramref name="frame"/> stands for and restores the frame that enclosed it.</summary>
    /// <param name="frame">The frame <see cref="Enter"/> returned.</param>
    internal static void Exit(Frame frame)
    {
        frame.End();
        Current.Value = frame.Outer;
    }

    /// <summary>Restores the frame that enclosed <paramref name="frame"/> for a call that runs on (an asynchronous
    /// body that has not completed); its owner calls <see cref="Frame.End"/> when the whole body has completed.</summary>
    /// <param name="frame">The frame <see cref="Enter"/> returned.</param>
    internal static void Leave(Frame frame) => Current.Value = frame.Outer;

    /// <summary>Gets whether a call of a callback of <paramref name="source"/> that has not ended encloses the current flow.</summary>
    /// <param name="source">The object passed to <see cref="Enter"/>.</param>
    /// <returns><see langword="true"/> if such a call encloses the current flow and has not ended.</returns>
    internal static bool IsInside(object source)
    {
        for (var frame = Current.Value; frame is not null; frame = frame.Outer)
        {
            if (ReferenceEquals(frame.Source, source) && !frame.HasEnded)
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
        private volatile bool _ended;
        private volatile Task? _body;

#if DEBUG
        /// <summary>
        /// Test seam: called by <see cref="End"/> before it marks the call ended (for an asynchronous body, after the
        /// body's task completed: the window <see cref="EndsWith"/> closes), for the frames of every user: timer
        /// callbacks, loop bodies and asynchronous event handlers. Debug builds only: its static load per call is part
        /// of the hot path.
        /// </summary>
        internal static Action<Frame>? BeforeEndHook { get; set; }
#endif

        public object Source { get; } = source;

        public object? State { get; } = state;

        public Frame? Outer { get; } = outer;

        /// <summary>Gets a value indicating whether the call has ended (work it left running may still see the frame).</summary>
        public bool HasEnded => _ended || _body is { IsCompleted: true };

        /// <summary>Marks the call ended; its owner calls it before the call stops counting as running, so a frame that
        /// has not ended always stands for a call its source still waits for.</summary>
        public void End()
        {
#if DEBUG
            BeforeEndHook?.Invoke(this);
#endif
            _ended = true;
        }

        /// <summary>Ties the end of an asynchronous body's call to <paramref name="body"/>, converted once to a task:
        /// the call has ended once that task completed, even before its owner's continuation calls <see cref="End"/>
        /// (work the body left running that disposes in between would not wait for itself).</summary>
        /// <param name="body">The body's result, not completed yet, before the owner waits for it.</param>
        /// <returns>The task the owner waits for instead of <paramref name="body"/> (which may be awaited only once).</returns>
        public Task EndsWith(ValueTask body)
        {
            var task = body.AsTask();
            _body = task;
            return task;
        }
    }
}
