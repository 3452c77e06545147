namespace SafeRefs.Internal;

/// <summary>Something a <see cref="PurgeRegistry"/> checks after each full collection: a weak link, a weak handler list.</summary>
internal interface IPurgeable
{
    /// <summary>Gets or sets the item's index in its registry (-1 when not registered); written under the registry's lock.</summary>
    int RegistryIndex { get; set; }

    /// <summary>
    /// Drops what was collected (detaches a link whose owner or source died, compacts a list, leaves the registry once
    /// the item itself is done). Reports the failures of user code it calls itself (a <c>remove</c> accessor).
    /// </summary>
    /// <param name="onOwnThread"><see langword="false"/> on the thread pool: a thread-affine source must not be detached.</param>
    /// <returns><see langword="true"/> when this call detached the item.</returns>
    bool TryPurge(bool onOwnThread);

    /// <summary>Logs and counts an exception that escaped <see cref="TryPurge"/> (a metric listener is user code); never throws.</summary>
    void ReportPurgeFailed(Exception exception);
}
