namespace SafeRefs.Subscriptions.WeakLinks;

/// <summary>
/// Where a weak link to a thread-affine source may detach it: the thread that subscribed and the
/// <see cref="SynchronizationContext"/> that was current there. Only links to such sources have one.
/// </summary>
internal sealed class SubscribingThread
{
    private int _posted;

    /// <summary>Initializes a new instance of the <see cref="SubscribingThread"/> class for the calling thread.</summary>
    internal SubscribingThread()
    {
        ThreadId = Environment.CurrentManagedThreadId;

        // The base context posts to the thread pool: only a derived one is trusted to run a post on this thread.
        var context = SynchronizationContext.Current;
        Context = context is not null && context.GetType() != typeof(SynchronizationContext) ? context : null;
    }

    /// <summary>Gets the managed id of the thread that subscribed.</summary>
    internal int ThreadId { get; }

    /// <summary>Gets the synchronization context that was current when it subscribed, unless there was none or it was the base <see cref="SynchronizationContext"/>.</summary>
    internal SynchronizationContext? Context { get; }

    /// <summary>Gets a value indicating whether the calling thread is the one that subscribed.</summary>
    internal bool IsCurrent => Environment.CurrentManagedThreadId == ThreadId;

    /// <summary>Returns <see langword="true"/> the first time only: a detach is posted to <see cref="Context"/> at most once.</summary>
    internal bool TryMarkPosted() => Interlocked.Exchange(ref _posted, 1) == 0;
}
