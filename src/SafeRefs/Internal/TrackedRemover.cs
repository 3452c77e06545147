namespace SafeRefs.Internal;

/// <summary>Calls a typed remove accessor stored untyped in a lease's tracking slot.</summary>
/// <typeparam name="T">The pooled type.</typeparam>
internal abstract class TrackedRemover<T>
    where T : class
{
    public abstract void Remove(T value, object remove, object handler);
}
