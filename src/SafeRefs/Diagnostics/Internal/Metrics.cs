using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using SafeRefs.Diagnostics;

namespace SafeRefs.Diagnostics.Internal;

/// <summary>
/// One set of SafeRefs instruments on one <see cref="System.Diagnostics.Metrics.Meter"/> named
/// <see cref="SafeRefsMeter.Name"/>: the static fallback <see cref="Shared"/>, or one set per
/// <see cref="IMeterFactory"/> (<see cref="For"/>), whose meter the factory owns and disposes. Each area adds its
/// instruments in a partial file <c>Metrics.&lt;Area&gt;.cs</c>; recording sites check
/// <see cref="Instrument.Enabled"/> first, so nothing is recorded (and nothing allocated) while nobody listens.
/// </summary>
/// <remarks>
/// Primitives pick their set once, when they are created, and keep it in a field: the hot paths read an instance
/// field and the instrument's flag, never a dictionary. Sets created for factories are cached in a
/// <see cref="ConditionalWeakTable{TKey, TValue}"/> keyed by the factory, so asking again is cheap, a factory is never
/// kept alive by SafeRefs, and a disposed factory's meter (disposed with it) simply stops publishing.
/// </remarks>
internal sealed partial class Metrics
{
    private static readonly ConditionalWeakTable<IMeterFactory, Metrics> PerFactory = new();
    private static readonly Lock PerFactoryLock = new();

    private Metrics(Meter meter)
    {
        Meter = meter;
        ListenersExceeded = CreateListenersExceeded(meter);
        WeakEvents = new WeakEventInstruments(meter);
        Pool = new PoolInstruments(meter, this);
        Cache = new CacheInstruments(meter);
        Timers = new TimerInstruments(meter);
    }

    /// <summary>Gets the static fallback set, on a process-wide meter that is never disposed.</summary>
    internal static Metrics Shared => SharedHolder.Instance;

    /// <summary>Gets the meter of this set.</summary>
    internal Meter Meter { get; }

    /// <summary>Gets the set of <paramref name="meterFactory"/>, creating its meter on first use; the static fallback
    /// when <paramref name="meterFactory"/> is <see langword="null"/>.</summary>
    /// <exception cref="ObjectDisposedException"><paramref name="meterFactory"/> was disposed before it created its meter.</exception>
    internal static Metrics For(IMeterFactory? meterFactory)
    {
        if (meterFactory is null)
        {
            return Shared;
        }

        if (PerFactory.TryGetValue(meterFactory, out var metrics))
        {
            return metrics;
        }

        // Under a lock (construction paths only), so that racing first uses create one set of instruments, not two.
        lock (PerFactoryLock)
        {
            if (!PerFactory.TryGetValue(meterFactory, out metrics))
            {
                metrics = new Metrics(meterFactory.Create(Options()));
                PerFactory.Add(meterFactory, metrics);
            }

            return metrics;
        }
    }

    private static MeterOptions Options() => new(SafeRefsMeter.Name) { Version = typeof(Metrics).Assembly.GetName().Version?.ToString() };

    /// <summary>
    /// Holds the static fallback. A holder class, so that static state in other partial files (whose initialisation
    /// order across files is not defined) can use <see cref="Shared"/> safely.
    /// </summary>
    private static class SharedHolder
    {
        internal static readonly Metrics Instance = new(new Meter(Options()));
    }
}
