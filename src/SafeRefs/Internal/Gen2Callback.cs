using System.Runtime.InteropServices;

namespace SafeRefs.Internal;

/// <summary>
/// Calls a callback with a target on the thread pool after each full (generation 2) collection, for as long as the
/// target lives and the callback returns <see langword="true"/>: a finalizable sentinel that re-registers itself, so it
/// is found dead (and finalized) once per collection of the generation it lives in, which is generation 2 after its
/// first collections.
/// </summary>
/// <remarks>
/// <b>Holds</b> the target weakly (it never keeps it alive; a queued call holds it until it has run) and the callback
/// strongly. The finalizer reads only its own weak handle and flag and queues the call: the callback never runs on the
/// finalizer thread. A callback that throws or returns <see langword="false"/> stops the calls; the sentinel then frees
/// its handle at its next finalization and is collected. Not thread-affine; nothing to dispose.
/// Library code does not register its own sentinel: it adds a sweep with <see cref="AddSweep"/>, so the process has
/// one sentinel for the whole library, whatever the number of features that sweep.
/// </remarks>
internal sealed class Gen2Callback
{
    private static readonly Lock SweepsLock = new();
    private static readonly object SweepsTarget = new(); // held weakly by the sentinel: a static, alive for the process
    private static Action[] _sweeps = [];

    // A weak GC handle rather than a WeakReference<T>: a WeakReference found dead in the same collection as this
    // sentinel may be finalized first, which frees its handle and would read as "target collected".
    private GCHandle _target;
    private readonly Func<object, bool> _callback;
    private volatile bool _stopped;

    private Gen2Callback(object target, Func<object, bool> callback)
    {
        _target = GCHandle.Alloc(target, GCHandleType.Weak);
        _callback = callback;
    }

    ~Gen2Callback()
    {
        if (_stopped || _target.Target is not { } target || Environment.HasShutdownStarted)
        {
            _target.Free();
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static call => call.Sentinel.Run(call.Target), (Sentinel: this, Target: target), preferLocal: false);
        GC.ReRegisterForFinalize(this);
    }

    /// <summary>Starts calling <paramref name="callback"/> with <paramref name="target"/> after collections.</summary>
    /// <param name="target">The object passed to the callback; held weakly.</param>
    /// <param name="callback">Runs on the thread pool; returns <see langword="false"/> to stop.</param>
    /// <returns>The sentinel (callers drop it: it keeps itself registered for finalization).</returns>
    public static Gen2Callback Register(object target, Func<object, bool> callback) => new(target, callback);

    /// <summary>
    /// Adds a sweep that the library's one sentinel runs on the thread pool after each full collection, for the rest
    /// of the process. Sweeps run one after the other; one that throws does not stop the others nor later calls.
    /// </summary>
    /// <param name="sweep">The sweep; adding the same delegate again does nothing.</param>
    public static void AddSweep(Action sweep)
    {
        lock (SweepsLock)
        {
            if (Array.IndexOf(_sweeps, sweep) >= 0)
            {
                return;
            }

            var first = _sweeps.Length == 0;
            _sweeps = [.. _sweeps, sweep];
            if (first)
            {
                _ = Register(SweepsTarget, static _ => RunSweeps());
            }
        }
    }

    private static bool RunSweeps()
    {
        foreach (var sweep in Volatile.Read(ref _sweeps))
        {
            try
            {
                sweep();
            }
#pragma warning disable CA1031 // one feature's failing sweep must not stop the others' (each logs its own failures)
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }

        return true;
    }

    private void Run(object target)
    {
        try
        {
            _stopped = !_callback(target);
        }
#pragma warning disable CA1031 // a throwing callback stops the calls; it must not take down a thread-pool thread
        catch (Exception)
#pragma warning restore CA1031
        {
            _stopped = true;
        }
    }
}
