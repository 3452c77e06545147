namespace SafeRefs.Internal;

/// <summary>A weak link that knows which event of <typeparamref name="TSource"/> it forwards.</summary>
/// <typeparam name="TSource">The type raising the event.</typeparam>
internal interface ISourceAttachable<in TSource>
{
    /// <summary>Attaches the link's forwarder to <paramref name="source"/>.</summary>
    void Attach(TSource source);
}
