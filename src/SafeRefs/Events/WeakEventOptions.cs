namespace SafeRefs.Events;

/// <summary>Options of a <see cref="WeakEvent{TArgs}"/> or <see cref="AsyncWeakEvent{TArgs}"/>.</summary>
/// <remarks>
/// <para><b>Holds</b> its values strongly. The event copies them when it is constructed: changing the options
/// afterwards does not affect events already created, so one instance can configure many events.</para>
/// <para><b>Thread safety:</b> not thread-safe for writes; configure it before sharing it.</para>
/// </remarks>
public sealed class WeakEventOptions
{
    /// <summary>Gets or sets what <see cref="WeakEvent{TArgs}.Add"/> does with a capturing lambda.</summary>
    /// <value><see cref="ClosurePolicy.Throw"/> by default.</value>
    public ClosurePolicy CapturingLambdaWithoutOwner { get; set; } = ClosurePolicy.Throw;

    /// <summary>Gets or sets what a raise does when a handler throws.</summary>
    /// <value><see cref="HandlerExceptionMode.Propagate"/> by default.</value>
    public HandlerExceptionMode ExceptionMode { get; set; } = HandlerExceptionMode.Propagate;
}
