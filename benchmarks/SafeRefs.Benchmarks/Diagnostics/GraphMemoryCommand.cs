using System.Diagnostics;
using System.Globalization;
using SafeRefs.Testing;

namespace SafeRefs.Benchmarks.Diagnostics;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/SafeRefs.Benchmarks -- graph-memory [objects]</c>: what recording the
/// reference graph (<see cref="HeapSnapshotOptions.RecordReferenceGraph"/>, <c>dotnet-saferefs leaks --paths</c>)
/// costs the capturing process, per million objects of the target. A child process holds <c>objects</c> (default
/// 1,000,000) small objects in a linked chain (one reference each, plus the runtime's own objects); two more children
/// take one snapshot of it each, without and with the graph, and report their peak working set, the managed bytes they
/// allocated and the managed bytes the snapshot keeps. The differences are the graph's cost. A memory measurement, not
/// a timing: a loaded machine does not change it much. Bounded: each child exits within a minute.
/// </summary>
public static class GraphMemoryCommand
{
    private const string TargetMode = "graph-memory-target";
    private const string CaptureMode = "graph-memory-capture";

    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == TargetMode)
        {
            return Target(int.Parse(args[1], CultureInfo.InvariantCulture));
        }

        if (args.Length > 0 && args[0] == CaptureMode)
        {
            return Capture(int.Parse(args[1], CultureInfo.InvariantCulture), bool.Parse(args[2]));
        }

        int objects = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        using Process target = Start(true, TargetMode, objects.ToString(CultureInfo.InvariantCulture));
        try
        {
            string? ready = target.StandardOutput.ReadLine();
            if (ready != "ready")
            {
                Console.Error.WriteLine("graph-memory: the target did not start");
                return 1;
            }

            string pid = target.Id.ToString(CultureInfo.InvariantCulture);
            Figures without = Measure(pid, graph: false);
            Figures with = Measure(pid, graph: true);
            double perMillion = 1_000_000.0 / with.Objects;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Target: {with.Objects:N0} live objects (about one reference each), {Environment.ProcessorCount} cores, .NET {Environment.Version}"));
            Console.WriteLine("| capture | peak working set | managed bytes allocated | managed bytes kept with the snapshot |");
            Console.WriteLine("|---|---:|---:|---:|");
            Console.WriteLine(Row("counts only", without));
            Console.WriteLine(Row("with the reference graph", with));
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"Graph cost per million objects: peak working set +{(with.Peak - without.Peak) * perMillion / 1e6:N0} MB, allocated +{(with.Allocated - without.Allocated) * perMillion / 1e6:N0} MB, kept +{(with.Kept - without.Kept) * perMillion / 1e6:N0} MB"));
            return 0;
        }
        finally
        {
            target.StandardInput.Close();
            if (!target.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                target.Kill();
            }
        }
    }

    private static string Row(string name, Figures f) =>
        string.Create(CultureInfo.InvariantCulture, $"| {name} | {f.Peak / 1e6:N0} MB | {f.Allocated / 1e6:N0} MB | {f.Kept / 1e6:N0} MB |");

    private static Figures Measure(string pid, bool graph)
    {
        using Process capture = Start(false, CaptureMode, pid, graph ? "true" : "false");
        string? line = capture.StandardOutput.ReadLine();
        if (!capture.WaitForExit(TimeSpan.FromSeconds(60)) || line is null)
        {
            capture.Kill();
            throw new InvalidOperationException("the capturing child did not finish");
        }

        long[] values = [.. line.Split(' ').Select(v => long.Parse(v, CultureInfo.InvariantCulture))];
        return new Figures(values[0], values[1], values[2], values[3]);
    }

    // The capturing child: one snapshot, then its peak working set, allocation and what the snapshot keeps.
    private static int Capture(int pid, bool graph)
    {
        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        HeapSnapshot snapshot = HeapSnapshot.Capture(pid, new HeapSnapshotOptions { RecordReferenceGraph = graph, Timeout = TimeSpan.FromSeconds(50) });
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        long kept = GC.GetTotalMemory(forceFullCollection: true) - baseline;
        using Process self = Process.GetCurrentProcess();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{self.PeakWorkingSet64} {allocated} {kept} {snapshot.ObjectCount}"));
        GC.KeepAlive(snapshot);
        return 0;
    }

    // The target: a chain of small objects held by a local, until standard input closes (or a minute passes).
    private static int Target(int objects)
    {
        Node? head = null;
        for (int i = 0; i < objects; i++)
        {
            head = new Node(head);
        }

        Console.WriteLine("ready");
        Console.Out.Flush();
        _ = Task.Run(() => Console.In.ReadToEnd()).Wait(TimeSpan.FromMinutes(1));
        GC.KeepAlive(head);
        return 0;
    }

    private static Process Start(bool redirectInput, params string[] args)
    {
        var info = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            info.ArgumentList.Add(typeof(GraphMemoryCommand).Assembly.Location);
        }

        info.ArgumentList.Add("graph-memory");
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("could not start a child");
    }

    private sealed record Figures(long Peak, long Allocated, long Kept, long Objects);

    private sealed class Node(Node? next)
    {
        public Node? Next { get; } = next;
    }
}
