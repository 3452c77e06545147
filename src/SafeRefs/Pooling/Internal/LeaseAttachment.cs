using System.Runtime.InteropServices;

namespace SafeRefs.Pooling.Internal;

/// <summary>
/// One thing a lease attached: a registration from <c>Track</c>, or a handler from <c>On</c> (attached as a
/// <see cref="Subscriptions.Subscription"/>, with its event key for the per-lease limit).
/// </summary>
/// <typeparam name="T">The pooled type.</typeparam>
[StructLayout(LayoutKind.Auto)]
internal struct LeaseAttachment<T>
    where T : class
{
    /// <summary>The registration, or the handler's subscription.</summary>
    public IDisposable? Registration;

    /// <summary>The event key for the per-lease limit; <see langword="null"/> for a registration.</summary>
    public string? EventKey;
}
