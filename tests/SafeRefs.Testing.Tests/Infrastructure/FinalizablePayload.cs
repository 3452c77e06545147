namespace SafeRefs.Testing.Tests.Infrastructure;

/// <summary>A finalizable object: collection takes a finalizer pass (the helper drains finalizers).</summary>
internal sealed class FinalizablePayload : Payload
{
    public static int Finalized;

    ~FinalizablePayload() => Interlocked.Increment(ref Finalized);
}
