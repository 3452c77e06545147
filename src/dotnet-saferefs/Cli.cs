using System.Diagnostics;
using System.Globalization;
using SafeRefs.Testing;
using SafeRefs.Testing.Internal;

namespace SafeRefs.Cli;

/// <summary>
/// The commands of <c>dotnet-saferefs</c>. Results go to <c>output</c>, progress and errors to <c>error</c>; every
/// failure is one line and a non-zero exit code (1: the command failed, 2: the command line is wrong).
/// </summary>
internal static class Cli
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int BadUsage = 2;
    public const int Grew = 3;

    private const string FailOnGrowth = "--fail-on-growth";
    private const string ProcessId = "--process-id";
    private const string ProcessName = "--name";

    // Six snapshots: enough for the trend test to tell a leak from a count that only fluctuates (see LeakReport).
    private const int DefaultCount = 6;

    // The bytes rule's threshold per interval: a kilobyte.
    private const double DefaultMinBytes = 1024;

    // Three paths per suspect under the growth table.
    private const int DefaultPaths = 3;

    private const string Usage =
        """
        dotnet-saferefs: find what grows in a running .NET process, and what keeps it alive (heap snapshots over
        EventPipe, no dump files).

        Usage:
          dotnet-saferefs leaks (-p|--process-id <pid> | -n|--name <name>) [--interval 10s] [--count 6] [--paths 3]
                                [--min-growth 1] [--min-bytes 1024] [--timeout 30s] [--fail-on-growth]
              Takes <count> heap snapshots <interval> apart and prints the types whose live instance count grew with
              a consistent trend (count rule), or whose count stayed steady while their bytes grew (bytes rule),
              largest growth in bytes first; then, for each, the bytes it retains and its <paths> shortest paths from a
              GC root, read from the reference graph of the last snapshot (--paths 0 skips the graph: it costs the
              tool about 100 MB per million objects of the target at the peak).
          dotnet-saferefs snapshot (-p|--process-id <pid> | -n|--name <name>) --out <file.json> [--timeout 30s]
              Writes one heap snapshot (live objects per type: count and bytes) as JSON.
          dotnet-saferefs diff <a.json> <b.json> [<c.json> ...] [--min-growth 1] [--min-bytes 1024] [--fail-on-growth]
              Two files: the per-type changes. Three or more: the types that grew from each file to the next.

        --fail-on-growth: exit with 3 when some type grew by the leak rules (for a CI step).
        Exit codes: 0 done, 1 the command failed (no such process, no permission, unreadable file), 2 bad command line,
        3 something grew (only with --fail-on-growth).

        Example session:
          $ dotnet-saferefs leaks -n MyService --interval 5s --paths 1
          snapshot 1/6 of process 4242: 412,311 objects, 38,120,552 B
          ...
          Process 4242, 6 snapshots 5 s apart:
          | type | after 0 | after 1 | after 2 | after 3 | after 4 | after 5 | per interval | bytes per interval | rule |
          |---|---:|---:|---:|---:|---:|---:|---:|---:|---|
          | MyService.QuoteView | 1,204 | 1,801 | 2,399 | 3,002 | 3,598 | 4,203 | +599.8 | +28,790 | count |

          MyService.QuoteView: retains 201,744 B; kept alive by:
            4,203 × MyService.QuoteView
              ← System.EventHandler`1[System.Decimal]
              ← System.Object[]
              ← System.EventHandler`1[System.Decimal]
              ← MyService.PriceFeed
              ← static field MyService.Program.Feed
        The path says who to fix: here each request subscribed a QuoteView to the long-lived PriceFeed and never
        unsubscribed (SafeRefs' Subscribe.Event or a SubscriptionBag ties the subscription to the view's lifetime).
        """;

    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            if (args.Count == 0 || args[0] is "-h" or "--help" or "help")
            {
                output.WriteLine(Usage);
                return args.Count == 0 ? BadUsage : Success;
            }

            IEnumerable<string> rest = args.Skip(1).Select(Alias);
            return args[0] switch
            {
                "leaks" => Leaks(new Arguments(rest, [FailOnGrowth], ProcessId, ProcessName, "--interval", "--count", "--paths", "--min-growth", "--min-bytes", "--timeout"), output, error),
                "snapshot" => Snapshot(new Arguments(rest, ProcessId, ProcessName, "--out", "--timeout"), output),
                "diff" => Diff(new Arguments(rest, [FailOnGrowth], "--min-growth", "--min-bytes"), output),
                _ => throw new UsageException($"unknown command '{args[0]}' (commands: leaks, snapshot, diff)"),
            };
        }
        catch (UsageException ex)
        {
            error.WriteLine($"dotnet-saferefs: error: {OneLine(ex.Message)}; see dotnet-saferefs --help");
            return BadUsage;
        }
        catch (Exception ex) when (ex is HeapSnapshotException or InvalidDataException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"dotnet-saferefs: error: {OneLine(ex.Message)}");
            return Failure;
        }
    }

    private static int Leaks(Arguments arguments, TextWriter output, TextWriter error)
    {
        int pid = TargetProcess(arguments);
        TimeSpan interval = arguments.Duration("--interval", TimeSpan.FromSeconds(10));
        int count = arguments.Int("--count", fallback: DefaultCount, minimum: 2);
        int paths = arguments.Int("--paths", fallback: DefaultPaths, minimum: 0);
        double minGrowth = arguments.Double("--min-growth", 1.0);
        double minBytes = arguments.Double("--min-bytes", DefaultMinBytes);
        HeapSnapshotOptions options = Options(arguments);
        NoPositional(arguments);

        var snapshots = new List<HeapSnapshot>(count);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            TimeSpan due = interval * i;
            if (clock.Elapsed < due)
            {
                Thread.Sleep(due - clock.Elapsed);
            }

            // Only the last snapshot records the reference graph: the paths are read from it.
            options.RecordReferenceGraph = paths > 0 && i == count - 1;
            HeapSnapshot snapshot = HeapSnapshot.Capture(pid, options);
            snapshots.Add(snapshot);
            error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"snapshot {i + 1}/{count} of process {pid}: {snapshot.ObjectCount:N0} objects, {snapshot.TotalBytes:N0} B"));
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Process {pid}, {count} snapshots {interval.TotalSeconds:0.###} s apart:"));
        LeakReport report = Report(snapshots, minGrowth, minBytes, "interval", paths);
        output.Write(report + Environment.NewLine);
        return Verdict(report, arguments);
    }

    private static int Snapshot(Arguments arguments, TextWriter output)
    {
        int pid = TargetProcess(arguments);
        string path = arguments.Required("--out");
        HeapSnapshotOptions options = Options(arguments);
        NoPositional(arguments);

        // One snapshot per run: a warm-up would cost the target a second collection and change nothing in the file.
        options.WarmUp = false;
        HeapSnapshot snapshot = HeapSnapshot.Capture(pid, options);
        using (FileStream file = File.Create(path))
        {
            snapshot.Save(file);
        }

        output.WriteLine($"{snapshot} -> {path}");
        return Success;
    }

    private static int Diff(Arguments arguments, TextWriter output)
    {
        double minGrowth = arguments.Double("--min-growth", 1.0);
        double minBytes = arguments.Double("--min-bytes", DefaultMinBytes);
        if (arguments.Positional.Count < 2)
        {
            throw new UsageException("diff needs two or more snapshot files");
        }

        var snapshots = new List<HeapSnapshot>();
        foreach (string path in arguments.Positional)
        {
            snapshots.Add(Load(path));
        }

        LeakReport report = Report(snapshots, minGrowth, minBytes, "snapshot", paths: 0);
        output.Write(snapshots.Count == 2
            ? HeapSnapshot.Compare(snapshots[0], snapshots[1]).ToString()
            : report + Environment.NewLine);
        return Verdict(report, arguments);
    }

    private static LeakReport Report(List<HeapSnapshot> snapshots, double minGrowth, double minBytes, string unit, int paths)
    {
        long[] steps = [.. Enumerable.Range(0, snapshots.Count).Select(i => (long)i)];
        List<GrowingType> suspects = GrowthRule.Suspects(snapshots, steps, minGrowth, minBytes, heldByCaller: false);
        RetentionAnalysis.Attach(suspects, snapshots[^1].Graph, paths);
        return new LeakReport(suspects, steps, unit);
    }

    // With --fail-on-growth a suspect fails the step (exit 3), so a CI job can gate on the table without parsing it.
    private static int Verdict(LeakReport report, Arguments arguments) =>
        arguments.Flag(FailOnGrowth) && report.Suspects.Count > 0 ? Grew : Success;

    private static HeapSnapshot Load(string path)
    {
        try
        {
            using FileStream file = File.OpenRead(path);
            return HeapSnapshot.Load(file);
        }
        catch (FileNotFoundException ex)
        {
            throw new IOException($"cannot read {path}: no such file", ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw new IOException($"cannot read {path}: no such directory", ex);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    // The diagnostics tools' spellings: -p|--process-id, -n|--name; --pid is kept for existing scripts.
    private static string Alias(string arg) => arg switch
    {
        "-p" or "--pid" => ProcessId,
        "-n" => ProcessName,
        _ when arg.StartsWith("--pid=", StringComparison.Ordinal) => ProcessId + arg[5..],
        _ => arg,
    };

    private static int TargetProcess(Arguments arguments)
    {
        string? name = arguments.Optional(ProcessName);
        if (name is null)
        {
            return arguments.Optional(ProcessId) is null
                ? throw new UsageException($"missing {ProcessId} (or {ProcessName})")
                : arguments.Int(ProcessId, fallback: null, minimum: 1);
        }

        if (arguments.Optional(ProcessId) is not null)
        {
            throw new UsageException($"give {ProcessId} or {ProcessName}, not both");
        }

        Process[] matches = Process.GetProcessesByName(name);
        try
        {
            return matches.Length switch
            {
                0 => throw new HeapSnapshotException($"No process named '{name}' is running."),
                1 => matches[0].Id,
                _ => throw new HeapSnapshotException(
                    $"{matches.Length} processes are named '{name}' ({string.Join(", ", matches.Select(p => p.Id).Order())}): pick one with {ProcessId}."),
            };
        }
        finally
        {
            foreach (Process match in matches)
            {
                match.Dispose();
            }
        }
    }

    private static HeapSnapshotOptions Options(Arguments arguments) =>
        new() { Timeout = arguments.Duration("--timeout", TimeSpan.FromSeconds(30)) };

    private static void NoPositional(Arguments arguments)
    {
        if (arguments.Positional.Count > 0)
        {
            throw new UsageException($"unexpected argument '{arguments.Positional[0]}'");
        }
    }

    private static string OneLine(string message) =>
        message.ReplaceLineEndings(" ").Trim();
}
