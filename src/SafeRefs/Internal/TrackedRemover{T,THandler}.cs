using System.Runtime.CompilerServices;

namespace SafeRefs.Internal;

/// <summary>The typed remover for one handler type: a singleton, so tracking a handler allocates nothing.</summary>
/// <typeparam name="T">The pooled type.</typeparam>
/// <typeparam name="THandler">The handler type.</typeparam>
internal sealed class TrackedRemover<T, THandler> : TrackedRemover<T>
    where T : class
    where THandler : Delegate
{
    public static readonly TrackedRemover<T, THandler> Instance = new();

    private TrackedRemover()
    {
    }

    public override void Remove(T value, object remove, object handler) =>
        Unsafe.As<Action<T, THandler>>(remove)(value, Unsafe.As<THandler>(handler));
}
