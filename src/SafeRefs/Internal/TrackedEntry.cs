using System.Runtime.InteropServices;

namespace SafeRefs.Internal;

/// <summary>One thing a lease attached: a handler (remover, remove accessor, handler, event key) or a registration.</summary>
/// <typeparam name="T">The pooled type.</typeparam>
[StructLayout(LayoutKind.Auto)]
internal struct TrackedEntry<T>
    where T : class
{
    public TrackedRemover<T>? Remover;
    public object? Remove;
    public object? Handler;
    public string? EventKey;
    public IDisposable? Registration;
}
