using System.Globalization;

namespace SafeRefs.Benchmarks.Timers;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/SafeRefs.Benchmarks -- timer-interleaved [rounds]</c>: the
/// <see cref="TimerCreateDisposeBenchmarks"/> methods taken in turns (see <see cref="Interleaved"/>), each against the
/// raw <c>TimeProvider.System.CreateTimer</c> + <c>Dispose</c> baseline.
/// </summary>
public static class TimerInterleavedCommand
{
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 41;
        var b = new TimerCreateDisposeBenchmarks();
        b.Setup();
        try
        {
            Interleaved.Measure(
                "TimerCreateDisposeBenchmarks",
                [
                    ("RawCreateTimer (baseline)", b.RawCreateTimer),
                    ("RawCreateTimerPlusScopeFloor", b.RawCreateTimerPlusScopeFloor),
                    ("ScopeEvery", b.ScopeEvery),
                    ("ScopeEveryOwner", b.ScopeEveryOwner),
                ],
                rounds);
        }
        finally
        {
            b.Cleanup();
        }

        return 0;
    }
}
