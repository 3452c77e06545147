using System.Runtime.CompilerServices;

namespace SafeRefs.Internal;

/// <summary>
/// The calling thread's managed thread id, cached in a thread-static field of a non-generic class: the JIT reads it
/// inline, where a thread-static of a generic class over a reference type goes through a helper call and
/// <see cref="Environment.CurrentManagedThreadId"/> is a call.
/// </summary>
internal static class ThreadIds
{
    [ThreadStatic]
    private static int _current;

    /// <summary>Gets the calling thread's <see cref="Environment.CurrentManagedThreadId"/> (never 0).</summary>
    internal static int Current
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            var id = _current;
            return id != 0 ? id : _current = Environment.CurrentManagedThreadId;
        }
    }
}
