using System.Runtime.CompilerServices;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;

namespace SafeRefs.Events.Internal;

/// <summary>
/// Bounds dead entries of weak handler lists that are never raised nor added to: after each gen-2 collection (through
/// the library's one <see cref="Gen2Callback"/> mechanism, on the thread pool) it compacts every registered list.
/// </summary>
/// <remarks>
/// Lists are kept in a <see cref="ConditionalWeakTable{TKey, TValue}"/>: it never keeps a list alive, drops collected
/// ones itself, and can be enumerated while other threads register, so sweeps may overlap safely. A list whose purge
/// throws (a metric listener is user code) is logged and counted; the sweep goes on.
/// </remarks>
internal static class WeakHandlerPurger
{
    private static readonly ConditionalWeakTable<WeakHandlerList, object> Lists = new();
    private static readonly object ListMarker = new(); // the table's value: only the keys matter
    private static int _started;
    private static long _sweepsCompleted;

    /// <summary>Gets the number of sweeps finished so far (tests wait on it instead of sleeping).</summary>
    internal static long SweepsCompleted => Interlocked.Read(ref _sweepsCompleted);

    /// <summary>Registers a list that holds weak entries.</summary>
    internal static void Register(WeakHandlerList list)
    {
        _ = Lists.TryAdd(list, ListMarker);
        if (Volatile.Read(ref _started) == 0 && Interlocked.Exchange(ref _started, 1) == 0)
        {
            Gen2Callback.AddSweep(Sweep);
        }
    }

    /// <summary>Compacts every registered list on the calling thread (also used by tests); never throws.</summary>
    internal static void Sweep()
    {
        foreach (var (list, _) in Lists)
        {
            try
            {
                list.Purge();
            }
#pragma warning disable CA1031 // One list's failure (a throwing metric listener) must not stop the sweep.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Metrics.BackgroundFailures.ReportSweepFailed(ex, list.Name);
            }
        }

        Interlocked.Increment(ref _sweepsCompleted);
    }
}
