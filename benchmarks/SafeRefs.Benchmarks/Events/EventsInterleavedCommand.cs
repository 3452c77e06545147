using System.Globalization;

namespace SafeRefs.Benchmarks.Events;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/SafeRefs.Benchmarks -- events-interleaved [rounds]</c>: the
/// <see cref="RaiseBenchmarks"/> rows of the weak events and their floors taken in turns, with 1 and 100 handlers, then
/// the <see cref="SubscribeBenchmarks"/> rows (see <see cref="Interleaved"/>).
/// </summary>
public static class EventsInterleavedCommand
{
    public static int Run(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 41;
        foreach (var n in new[] { 1, 100 })
        {
            var b = new RaiseBenchmarks { N = n };
            b.Setup();

            // As BenchmarkDotNet's collections between iterations do: the setup's garbage (the copied snapshots) gone,
            // the survivors compacted.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            Interleaved.Measure(
                $"RaiseBenchmarks, N = {n}",
                [
                    ("PlainEvent (baseline)", b.PlainEvent),
                    ("WeakEvent_Add", b.WeakEvent_Add),
                    ("WeakEvent_SubscribeStatic", b.WeakEvent_SubscribeStatic),
                    ("WeakEvent_SubscribeCapturing", b.WeakEvent_SubscribeCapturing),
                    ("WeakDelegateEvent_Subscribe", b.WeakDelegateEvent_Subscribe),
                    ("Floor_WeakRead", b.Floor_WeakRead),
                    ("Floor_WeakReadAndGate", b.Floor_WeakReadAndGate),
                    ("Floor_WeakReadAndSlot", b.Floor_WeakReadAndSlot),
                    ("Floor_DependentReadAndGate", b.Floor_DependentReadAndGate),
                ],
                rounds,
                operationsPerRound: n == 1 ? 200_000 : 5_000);
            b.Cleanup();
        }

        var subscribe = new SubscribeBenchmarks();
        subscribe.Setup();
        Interleaved.Measure(
            "Events.SubscribeBenchmarks (10 other subscribers)",
            [
                ("PlainEvent_AddRemove (baseline)", subscribe.PlainEvent_AddRemove),
                ("WeakEvent_SubscribeDispose", subscribe.WeakEvent_SubscribeDispose),
                ("SubscribeWeakEvent_Dispose", subscribe.SubscribeWeakEvent_Dispose),
                ("WeakEvent_AddRemove", subscribe.WeakEvent_AddRemove),
                ("CTMvvm_RegisterUnregister", subscribe.CTMvvm_RegisterUnregister),
            ],
            rounds,
            operationsPerRound: 20_000);

        return 0;
    }
}
