namespace SafeRefs.Testing.Heap.LeakyTarget;

/// <summary>Objects whose live count only fluctuates (mode <c>noisy</c>).</summary>
/// <typeparam name="T">Makes distinct types.</typeparam>
internal sealed class Noise<T>
{
    public T? Value { get; set; }
}
