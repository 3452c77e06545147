namespace SafeRefs.PackageConsumer;

/// <summary>Deliberately risky: the discarded registration must be reported as SR1005 by the packaged analyzers.</summary>
internal static class LeakyOnPurpose
{
    public static void Register(CancellationToken longLived, object state)
    {
        longLived.Register(() => GC.KeepAlive(state));
    }
}
