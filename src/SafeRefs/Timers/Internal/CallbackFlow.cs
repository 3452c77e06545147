namespace SafeRefs.Timers.Internal;

/// <summary>
/// The timer callbacks and loop bodies the current flow of execution runs inside, so that a <c>DisposeAsync</c> that
/// would wait for one of them faults instead of waiting for itself, also after an <see langword="await"/> of an
/// asynchronous body. An <see cref="AsyncLocal{T}"/> set around the call of a callback or body: it flows into the
/// body's continuations. Only the callback path pays for it (a frame and the context change per call).
/// </summary>
/// <remarks>Work a body starts and leaves running (a task it does not await) inherits the frame too; the checks
/// therefore also ask whether the member is still running.</remarks>
internal static class CallbackFlow
{
    private static readonly AsyncLocal<Frame?> Current = new();

    /// <summary>Marks the flow as running inside <paramref name="member"/>; pass the result to <see cref="Exit"/>.</summary>
    /// <param name="member">The timer or loop whose callback or body is about to be called.</param>
    /// <param name="scope">The scope that owns <paramref name="member"/> (weakly, as the member holds it).</param>
    /// <returns>The frame to restore.</returns>
    internal static Frame? Enter(IScopeMember member, WeakReference<TimerScope> scope)
    {
        var outer = Current.Value;
        Current.Value = new Frame(member, scope, outer);
        return outer;
    }

    /// <summary>Restores the frame <see cref="Enter"/> returned, once the call has returned.</summary>
    /// <param name="outer">The frame to restore.</param>
    internal static void Exit(Frame? outer) => Current.Value = outer;

    /// <summary>Gets whether the current flow runs inside a callback or body of <paramref name="member"/>.</summary>
    /// <param name="member">The timer or loop.</param>
    /// <returns><see langword="true"/> if a call of it encloses the current flow.</returns>
    internal static bool IsInside(IScopeMember member)
    {
        for (var frame = Current.Value; frame is not null; frame = frame.Outer)
        {
            if (ReferenceEquals(frame.Member, member))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Gets whether the current flow runs inside a still running callback or body of a member of
    /// <paramref name="scope"/> or of one of its child scopes, whatever the progress of the scope's disposal.</summary>
    /// <param name="scope">The scope.</param>
    /// <returns><see langword="true"/> if such a call encloses the current flow.</returns>
    internal static bool IsInsideRunningMemberOf(TimerScope scope)
    {
        for (var frame = Current.Value; frame is not null; frame = frame.Outer)
        {
            if (frame.Scope.TryGetTarget(out var owner) && owner.IsSelfOrChildOf(scope) && frame.Member.RunsInCallingFlow)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>One call of a callback or body, inside the calls that enclose it (a fake clock advanced from a callback).</summary>
    internal sealed class Frame(IScopeMember member, WeakReference<TimerScope> scope, Frame? outer)
    {
        public IScopeMember Member { get; } = member;

        public WeakReference<TimerScope> Scope { get; } = scope;

        public Frame? Outer { get; } = outer;
    }
}
