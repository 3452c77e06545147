namespace SafeRefs.Caching.Redis.Internal;

/// <summary>
/// Marks the async flow that applies another instance's message, so that the writes it makes (HybridCache's tag
/// invalidation goes to L2) are not announced again: without it, every instance would echo every tag forever.
/// </summary>
internal readonly struct RemoteApplyScope : IDisposable
{
    private static readonly AsyncLocal<bool> Active = new();

    internal static bool IsActive => Active.Value;

    internal static RemoteApplyScope Enter()
    {
        Active.Value = true;
        return default;
    }

    public void Dispose() => Active.Value = false;
}
