using System.Globalization;

namespace SafeRefs.Benchmarks.Timers;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/SafeRefs.Benchmarks -- timer-interleaved [rounds] [row]</c>: the
/// <see cref="TimerCreateDisposeBenchmarks"/> methods taken in turns (see <see cref="Interleaved"/>), each against the
/// raw <c>TimeProvider.System.CreateTimer</c> + <c>Dispose</c> baseline; then <see cref="TimerScopeDisposeBenchmarks"/>
/// (each dispose after an untimed set-up, against disposing as many raw timers) and
/// <see cref="TimerScopeActiveCountBenchmarks"/> at 1,000 and 10,000 timers, for linearity. With <c>row</c>, only the
/// baseline and the create + dispose rows whose name contains it run, and nothing else: a process running only the
/// rows one BenchmarkDotNet process runs, to tell a harness effect from a process-state effect.
/// </summary>
public static class TimerInterleavedCommand
{
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 41;
        var row = args.Length > 1 ? args[1] : null;
        var b = new TimerCreateDisposeBenchmarks();
        b.Setup();
        try
        {
            (string Name, Action Operation)[] rows =
            [
                ("RawCreateTimerPlusScopeFloor", b.RawCreateTimerPlusScopeFloor),
                ("RawCreateTimerPlusOwnerFloor", b.RawCreateTimerPlusOwnerFloor),
                ("RawCreateTimerPlusPromiseFloor", b.RawCreateTimerPlusPromiseFloor),
                ("ScopeEvery", b.ScopeEvery),
                ("ScopeEveryOwner", b.ScopeEveryOwner),
            ];
            Interleaved.Measure(
                "TimerCreateDisposeBenchmarks",
                [("RawCreateTimer (baseline)", b.RawCreateTimer), .. rows.Where(r => row is null || r.Name.Contains(row, StringComparison.Ordinal))],
                rounds);
        }
        finally
        {
            b.Cleanup();
        }

        if (row is not null)
        {
            return 0;
        }

        foreach (var count in (int[])[1_000, 10_000])
        {
            var dispose = new TimerScopeDisposeBenchmarks { Count = count };
            Interleaved.MeasureEach(
                string.Create(CultureInfo.InvariantCulture, $"TimerScopeDisposeBenchmarks, {count:N0} timers"),
                [
                    ("RawDispose (baseline)", dispose.SetupRaw, dispose.RawDispose),
                    ("ScopeDispose", dispose.SetupScope, dispose.ScopeDispose),
                ],
                rounds,
                operationsPerRound: 10);
        }

        var small = new TimerScopeActiveCountBenchmarks { Count = 1_000 };
        var large = new TimerScopeActiveCountBenchmarks { Count = 10_000 };
        small.Setup();
        large.Setup();
        try
        {
            Interleaved.Measure(
                "TimerScopeActiveCountBenchmarks (ratio: 10,000 timers against 1,000)",
                [
                    ("ActiveCount, 1,000 timers (baseline)", () => small.ActiveCount()),
                    ("ActiveCount, 10,000 timers", () => large.ActiveCount()),
                ],
                rounds);
            Interleaved.Measure(
                "TimerScopeActiveCountBenchmarks, reference scan (ratio: 10,000 timers against 1,000)",
                [
                    ("read each IsActive, 1,000 timers (baseline)", () => small.ScanTimers()),
                    ("read each IsActive, 10,000 timers", () => large.ScanTimers()),
                ],
                rounds,
                operationsPerRound: 1_000);
        }
        finally
        {
            small.Cleanup();
            large.Cleanup();
        }

        return 0;
    }
}
