using System.Globalization;

namespace SafeRefs.Benchmarks.Subscriptions;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/SafeRefs.Benchmarks -- subscribe-interleaved [rounds]</c>: the
/// <see cref="SubscribeBenchmarks"/> methods (plain-event and weak-event rows) taken in turns, with 0, 1 and 10 existing handlers
/// (see <see cref="Interleaved"/>).
/// </summary>
public static class SubscribeInterleavedCommand
{
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 41;
        foreach (var existing in new[] { 0, 1, 10 })
        {
            var b = new SubscribeBenchmarks { ExistingHandlers = existing };
            b.Setup();
            Interleaved.Measure(
                $"SubscribeBenchmarks, ExistingHandlers = {existing}",
                [
                    ("RawAddRemove (baseline)", b.RawAddRemove),
                    ("SubscribeEventDispose", b.SubscribeEventDispose),
                    ("SubscribeEventWithBudgetDispose", b.SubscribeEventWithBudgetDispose),
                    ("RawAddRemovePlusTokenFloor", b.RawAddRemovePlusTokenFloor),
                    ("ForwarderFloor", b.ForwarderFloor),
                    ("ForwarderGateFloor", b.ForwarderGateFloor),
                    ("ForwarderGateCountFloor", b.ForwarderGateCountFloor),
                    ("TokenApiFloor", b.TokenApiFloor),
                    ("RawGenericAddRemove", b.RawGenericAddRemove),
                    ("WeakEventDispose", b.WeakEventDispose),
                    ("WeakLinkFloor", b.WeakLinkFloor),
                    ("WeakEventDispose_RotatingOwners", b.WeakEventDispose_RotatingOwners),
                    ("RawAddRemovePlusWeakFloor", b.RawAddRemovePlusWeakFloor),
                ],
                rounds);
        }

        return 0;
    }
}
