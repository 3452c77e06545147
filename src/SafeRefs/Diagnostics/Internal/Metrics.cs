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

    /// <summary>
    /// Creates the instrument <paramref name="name"/> on <paramref name="meter"/>. Creating an instrument runs the
    /// <c>InstrumentPublished</c> callback of every started <see cref="MeterListener"/> on this thread, inside SafeRefs'
    /// static initialisers among others: user code, which may throw. A type initialiser that threw would fail every later
    /// use of SafeRefs in the process, so the failure is logged (1500) and the instrument is made on a disposed meter
    /// instead: it is never published, records nothing, and every primitive goes on working.
    /// </summary>
    private static T Publish<T>(Meter meter, string name, Func<Meter, string, T> create)
        where T : Instrument
    {
        try
        {
            return create(meter, name);
        }
#pragma warning disable CA1031 // A metric listener is user code: it must not break SafeRefs for the process.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            try
            {
                Log.InstrumentPublishFailed(SafeRefsLog.Logger, exception, name);
            }
#pragma warning disable CA1031 // The fallback logger is user code too.
            catch (Exception)
#pragma warning restore CA1031
            {
            }

            return create(InertMeter.Instance, name);
        }
    }

    private static MeterOptions Options() => new(SafeRefsMeter.Name) { Version = SafeRefsMeter.Version };

    /// <summary>
    /// Holds the static fallback. A holder class, so that static state in other partial files (whose initialisation
    /// order across files is not defined) can use <see cref="Shared"/> safely.
    /// </summary>
    private static class SharedHolder
    {
        internal static readonly Metrics Instance = new(new Meter(Options()));
    }

    /// <summary>
    /// Holds a meter disposed at once: an instrument created on it is never published to any listener (so no user code
    /// runs) and is never enabled. The stand-in for an instrument whose publication threw (see <see cref="Publish"/>).
    /// </summary>
    private static class InertMeter
    {
        internal static readonly Meter Instance = CreateDisposed();

        private static Meter CreateDisposed()
        {
            var meter = new Meter(Options());
            meter.Dispose();
            return meter;
        }
    }
}
