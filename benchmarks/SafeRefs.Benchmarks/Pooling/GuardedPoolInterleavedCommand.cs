using System.Globalization;

namespace SafeRefs.Benchmarks.Pooling;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/SafeRefs.Benchmarks -- pool-interleaved [rounds]</c>: the
/// <see cref="GuardedPoolBenchmarks"/> methods taken in turns (see <see cref="Interleaved"/>), each bar's pair against
/// its own baseline.
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
                ("RawGetTwoHandlersReturnPlusLeaseFloor", b.RawGetTwoHandlersReturnPlusLeaseFloor),
            ],
            rounds);
        Interleaved.Measure(
            "GuardedPoolBenchmarks, nothing attached",
            [
                ("RawGetReturn (baseline)", b.RawGetReturn),
                ("RentDispose", b.RentDispose),
                ("RawGetReturnPlusLeaseFloor", b.RawGetReturnPlusLeaseFloor),
            ],
            rounds);
        return 0;
    }
}
