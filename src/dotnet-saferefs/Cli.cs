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

    private const string Usage =
        """
        dotnet-saferefs: find what grows in a running .NET process (heap snapshots over EventPipe, no dump files).

        Usage:
          dotnet-saferefs leaks --pid <pid> [--interval 10s] [--count 3] [--min-growth 1] [--timeout 30s] [--fail-on-growth]
              Takes <count> heap snapshots <interval> apart and prints the types whose live instance count grew in
              every interval, largest growth in bytes first.
          dotnet-saferefs snapshot --pid <pid> --out <file.json> [--timeout 30s]
              Writes one heap snapshot (live objects per type: count and bytes) as JSON.
          dotnet-saferefs diff <a.json> <b.json> [<c.json> ...] [--min-growth 1] [--fail-on-growth]
              Two files: the per-type changes. Three or more: the types that grew from each file to the next.

        --fail-on-growth: exit with 3 when some type grew by the leaks rule (for a CI step).
        Exit codes: 0 done, 1 the command failed (no such process, no permission, unreadable file), 2 bad command line,
        3 something grew (only with --fail-on-growth).
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

            IEnumerable<string> rest = args.Skip(1);
            return args[0] switch
            {
                "leaks" => Leaks(new Arguments(rest, [FailOnGrowth], "--pid", "--interval", "--count", "--min-growth", "--timeout"), output, error),
                "snapshot" => Snapshot(new Arguments(rest, "--pid", "--out", "--timeout"), output),
                "diff" => Diff(new Arguments(rest, [FailOnGrowth], "--min-growth"), output),
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
        int pid = arguments.Int("--pid", fallback: null, minimum: 1);
        TimeSpan interval = arguments.Duration("--interval", TimeSpan.FromSeconds(10));
        int count = arguments.Int("--count", fallback: 3, minimum: 2);
        double minGrowth = arguments.Double("--min-growth", 1.0);
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

            HeapSnapshot snapshot = HeapSnapshot.Capture(pid, options);
            snapshots.Add(snapshot);
            error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"snapshot {i + 1}/{count} of process {pid}: {snapshot.ObjectCount:N0} objects, {snapshot.TotalBytes:N0} B"));
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Process {pid}, {count} snapshots {interval.TotalSeconds:0.###} s apart:"));
        LeakReport report = Report(snapshots, minGrowth, "interval");
        output.Write(report + Environment.NewLine);
        return Verdict(report, arguments);
    }

    private static int Snapshot(Arguments arguments, TextWriter output)
    {
        int pid = arguments.Int("--pid", fallback: null, minimum: 1);
        string path = arguments.Required("--out");
        HeapSnapshotOptions options = Options(arguments);
        NoPositional(arguments);

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
        if (arguments.Positional.Count < 2)
        {
            throw new UsageException("diff needs two or more snapshot files");
        }

        var snapshots = new List<HeapSnapshot>();
        foreach (string path in arguments.Positional)
        {
            snapshots.Add(Load(path));
        }

        LeakReport report = Report(snapshots, minGrowth, "snapshot");
        output.Write(snapshots.Count == 2
            ? HeapSnapshot.Compare(snapshots[0], snapshots[1]).ToString()
            : report + Environment.NewLine);
        return Verdict(report, arguments);
    }

    private static LeakReport Report(List<HeapSnapshot> snapshots, double minGrowth, string unit)
    {
        long[] steps = [.. Enumerable.Range(0, snapshots.Count).Select(i => (long)i)];
        return new LeakReport(GrowthRule.Suspects(snapshots, steps, minGrowth, heldByCaller: false), steps, unit);
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
