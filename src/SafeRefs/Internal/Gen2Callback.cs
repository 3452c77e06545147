using System.Runtime.InteropServices;

namespace SafeRefs.Internal;

/// <summary>
/// Calls a callback with a target after each full (generation 2) collection, for as long as the target lives and the
/// callback returns <see langword="true"/>: a finalizable sentinel that re-registers itself, so it is found dead (and
/// finalized) once per collection of the generation it lives in, which is generation 2 after its first collections.
/// </summary>
/// <remarks>
/// <b>Holds</b> the target weakly (it never keeps it alive) and the callback strongly. The finalizer touches only its
/// own weak handle, and calls the callback only with a target that handle has just shown alive (a short weak handle is
/// cleared before the target's own finalization). The callback runs on the finalizer thread, must be short and must not
/// throw (a throw stops the callbacks). Not thread-affine; nothing to dispose.
/// </remarks>
internal sealed class Gen2Callback
{
    // A weak GC handle rather than a WeakReference<T>: a WeakReference found dead in the same collection as this
    // sentinel may be finalized first, which frees its handle and would read as "target collected".
    private GCHandle _target;
    private readonly Func<object, bool> _callback;

    private Gen2Callback(object target, Func<object, bool> callback)
    {
        _target = GCHandle.Alloc(target, GCHandleType.Weak);
        _callback = callback;
    }

    ~Gen2Callback()
    {
        if (_target.Target is not { } target)
        {
            _target.Free();
            return;
        }

        bool again;
        try
        {
            again = _callback(target);
        }
#pragma warning disable CA1031 // a throwing callback must not end the process from the finalizer thread
        catch (Exception)
#pragma warning restore CA1031
        {
            again = false;
        }

        if (again)
        {
            GC.ReRegisterForFinalize(this);
        }
        else
        {
            _target.Free();
        }
    }

    /// <summary>Starts calling <paramref name="callback"/> with <paramref name="target"/> after collections.</summary>
    /// <param name="target">The object passed to the callback; held weakly.</param>
    /// <param name="callback">Returns <see langword="false"/> to stop.</param>
    public static void Register(object target, Func<object, bool> callback) => _ = new Gen2Callback(target, callback);
}
