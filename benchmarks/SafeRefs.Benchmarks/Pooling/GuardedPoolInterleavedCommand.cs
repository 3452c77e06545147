using System.Globalization;

namespace SafeRefs.Benchmarks.Pooling;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/SafeRefs.Benchmarks -- pool-interleaved [rounds]</c>: the
/// <see cref="GuardedPoolBenchmarks"/> and <see cref="GuardedPoolCrossThreadBenchmarks"/> methods taken in turns (see
/// <see cref="Interleaved"/>), each bar's pair against its own baseline; the cross-thread figures are per use.
/// </summary>
public static class GuardedPoolInterleavedCommand
{
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 41;
        var b = new GuardedPoolBenchmarks();
        b.Setup();
        Interleaved.Measure(
            "GuardedPoolBenchmarks, two handlers",
            [
                ("RawGetTwoHandlersReturn (baseline)", b.RawGetTwoHandlersReturn),
                ("RentTwoOnDispose", b.RentTwoOnDispose),
                ("RawGetTwoHandlersReturnPlusGuardFloor", b.RawGetTwoHandlersReturnPlusGuardFloor),
            ],
            rounds);
        Interleaved.Measure(
            "GuardedPoolBenchmarks, nothing attached",
            [
                ("RawGetReturn (baseline)", b.RawGetReturn),
                ("RentDispose", b.RentDispose),
                ("RawGetReturnPlusGuardFloor", b.RawGetReturnPlusGuardFloor),
            ],
            rounds);

        var across = new GuardedPoolCrossThreadBenchmarks();
        across.Setup();
        try
        {
            Interleaved.Measure(
                "GuardedPoolCrossThreadBenchmarks, two handlers, ended on the other thread",
                [
                    ("RawGetTwoHandlersReturnAcrossThreads (baseline)", across.RawGetTwoHandlersReturnAcrossThreads),
                    ("RentTwoOnDisposeAcrossThreads", across.RentTwoOnDisposeAcrossThreads),
                    ("RawGetTwoHandlersReturnAcrossThreadsPlusGuardFloor", across.RawGetTwoHandlersReturnAcrossThreadsPlusGuardFloor),
                ],
                rounds,
                operationsPerRound: 100_000 / GuardedPoolCrossThreadBenchmarks.Batch,
                operationsPerCall: GuardedPoolCrossThreadBenchmarks.Batch);
        }
        finally
        {
            across.Cleanup();
        }

        return 0;
    }
}
