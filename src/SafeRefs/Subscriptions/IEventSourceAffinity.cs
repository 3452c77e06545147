namespace SafeRefs.Subscriptions;

/// <summary>
/// Lets an event source tell SafeRefs' weak subscriptions (<see cref="Subscribe.WeakEvent{TSource, TOwner, TArgs}"/>
/// and <c>WeakSubscriptions</c>) whether its <c>remove</c> accessors may be called from any thread.
/// </summary>
/// <remarks>
/// <para>A weak subscription whose owner was collected is detached without being disposed. For a thread-affine source
/// that happens only on the source's thread: on the next raise of the event, in a purge that runs on the thread that
/// subscribed (during a later weak subscription there), or through the <see cref="SynchronizationContext"/> that was
/// current when it subscribed (a context derived from it, which is trusted to run what is posted to it on that thread;
/// the base <see cref="SynchronizationContext"/> posts to the thread pool, so it is not used); never on the thread pool. Any other source may be detached by the purge that runs on
/// the thread pool after gen-2 collections.</para>
/// <para>Without this interface, sources implementing <see cref="System.ComponentModel.INotifyPropertyChanged"/>,
/// <see cref="System.Collections.Specialized.INotifyCollectionChanged"/> or <see cref="System.Windows.Input.ICommand"/>
/// count as thread-affine (UI objects), and every other source does not. Implement it to opt a source in or out.</para>
/// </remarks>
public interface IEventSourceAffinity
{
    /// <summary>
    /// Gets a value indicating whether the source's <c>remove</c> accessors must run on the thread that subscribed.
    /// Read once, when a weak subscription is made.
    /// </summary>
    bool IsThreadAffine { get; }
}
