using System.Diagnostics;
using SafeRefs.Cli.Tests.Infrastructure;
using SafeRefs.Testing;

namespace SafeRefs.Cli.Tests;

[Collection(HeapCollection.Name)]
public sealed class CliTests : IDisposable
{
    private const int NoSuchPid = int.MaxValue - 11;
    private readonly string _directory = Directory.CreateTempSubdirectory("saferefs-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Leaks_ChildThatLeaks_ReportsTheLeakedType()
    {
        using LeakyChild child = LeakyChild.Start(perCollection: 100);

        (int code, string output, string error) = Run("leaks", "--pid", child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--interval", "400ms", "--count", "3");

        Assert.True(code == Cli.Success, error);
        Assert.Contains("| SafeRefs.Testing.Heap.LeakyTarget.LeakedItem |", output, StringComparison.Ordinal);
        Assert.Contains("per interval", output, StringComparison.Ordinal);
        Assert.Contains("snapshot 3/3", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Leaks_ChildThatDoesNotLeak_ReportsNoLeakedItem()
    {
        using LeakyChild child = LeakyChild.Start(perCollection: 0);

        (int code, string output, string error) = Run("leaks", "--pid", child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--interval", "400ms", "--count", "3");

        Assert.True(code == Cli.Success, error);
        Assert.DoesNotContain("LeakedItem", output, StringComparison.Ordinal);
    }

    [Fact]
    public void SnapshotThenDiff_ChildThatLeaks_ShowsGrowth()
    {
        using LeakyChild child = LeakyChild.Start(perCollection: 100);
        string pid = child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string[] files = [.. Enumerable.Range(0, 3).Select(i => Path.Combine(_directory, $"s{i}.json"))];

        // The child leaks 100 items after each full collection, and the snapshot command costs the target one
        // collection (no warm-up): the first snapshot sees none, each later one 100 more. Waiting for the child's
        // report makes every batch land between two snapshots.
        int expected = 0;
        foreach (string file in files)
        {
            (int code, string output, string error) = Run("snapshot", "--pid", pid, "--out", file);
            Assert.True(code == Cli.Success, error);
            Assert.Contains(file, output, StringComparison.Ordinal);
            expected += 100;
            child.WaitUntilLeaked(expected);
        }

        (int twoCode, string twoOutput, _) = Run("diff", files[0], files[1]);
        (int threeCode, string threeOutput, _) = Run("diff", files[0], files[1], files[2]);

        Assert.Equal(Cli.Success, twoCode);
        Assert.Contains("SafeRefs.Testing.Heap.LeakyTarget.LeakedItem: 0 -> 100 (+100 objects", twoOutput, StringComparison.Ordinal);
        Assert.Equal(Cli.Success, threeCode);
        Assert.Contains("| SafeRefs.Testing.Heap.LeakyTarget.LeakedItem | 0 | 100 | 200 | +100 |", threeOutput, StringComparison.Ordinal);
        Assert.Contains("per snapshot", threeOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void Leaks_ChildWhoseCountsOnlyFluctuate_ReportsNoSuspect()
    {
        // A busy process: every object is replaced all the time, and the live counts of several types (and the bytes
        // of byte arrays) wander between snapshots (a fixed random draw, see the target). With the default six
        // snapshots the trend test must not mistake that for growth, nor anything else the process and the tool's own
        // sessions do. The rule's false-alarm rate on fresh random counts is GrowthRuleTests' business.
        using LeakyChild child = LeakyChild.Start(perCollection: 0, mode: "noisy");

        (int code, string output, string error) = Run("leaks", "-p", Pid(child), "--interval", "250ms", "--paths", "0", "--fail-on-growth");

        Assert.True(code == Cli.Success, output + error);
        Assert.Contains("No type grew with the number of intervals", output, StringComparison.Ordinal);
        Assert.Contains("snapshot 6/6", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Leaks_ChildLeakingIntoOneList_ReportsTheArrayByBytes()
    {
        // One List<int> gains 110,000 ints per snapshot: its Int32[] stays one object whose bytes double now and then.
        using LeakyChild child = LeakyChild.Start(perCollection: 110_000, mode: "list");

        (int code, string output, string error) = Run("leaks", "-p", Pid(child), "--interval", "250ms", "--paths", "1", "--fail-on-growth");

        Assert.True(code == Cli.Grew, output + error);
        string row = Assert.Single(output.Split('\n'), l => l.StartsWith("| System.Int32[] |", StringComparison.Ordinal));
        Assert.EndsWith("| bytes |", row.TrimEnd(), StringComparison.Ordinal);
        Assert.Contains("System.Int32[]: retains", output, StringComparison.Ordinal);
        Assert.Contains("← System.Collections.Generic.List`1[System.Int32]", output, StringComparison.Ordinal);
        Assert.Contains("← static field SafeRefs.Testing.Heap.LeakyTarget.Program.Numbers", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Leaks_FourKindsOfLeak_PrintsEachRootExactly()
    {
        using LeakyChild child = LeakyChild.Start(perCollection: 40, mode: "paths");

        (int code, string output, string error) = Run("leaks", "-p", Pid(child), "--interval", "250ms", "--count", "3", "--paths", "1");

        Assert.True(code == Cli.Success, output + error);

        // A static event: the view <- its handler <- the invocation list <- the multicast delegate <- the event's field.
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(output, @"× SafeRefs\.Testing\.Heap\.LeakyTarget\.QuoteView \([0-9,]+ B\)\r?\n +← System\.EventHandler\r?\n +← System\.Object\[\]\r?\n +← System\.EventHandler\r?\n +← static field SafeRefs\.Testing\.Heap\.LeakyTarget\.PriceFeed\.Changed\r?\n"), output);

        // CancellationToken.Register on a long-lived source, a timer dropped undisposed, a DI singleton's list.
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(output, @"× SafeRefs\.Testing\.Heap\.LeakyTarget\.RegisteredWork \([0-9,]+ B\)(\r?\n +← .*)*\r?\n +← static field SafeRefs\.Testing\.Heap\.LeakyTarget\.Fixtures\.Shutdown"), output);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(output, @"× SafeRefs\.Testing\.Heap\.LeakyTarget\.TimerOwner \([0-9,]+ B\)(\r?\n +← .*)*\r?\n +← static field System\.Threading\.TimerQueue\."), output);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(output, @"× SafeRefs\.Testing\.Heap\.LeakyTarget\.CachedQuote \([0-9,]+ B\)(\r?\n +← .*)*\r?\n +← static field SafeRefs\.Testing\.Heap\.LeakyTarget\.Fixtures\.Services"), output);
    }

    [Fact]
    public void Capture_ChildThatCallsGCCollectInALoop_CountsEveryObject()
    {
        // The app's own GC.Collect() looks like the walk's induced collection (blocking, gen 2, induced). A walk that
        // latched onto one of those would end with no objects; each snapshot must count all 1,000 kept items.
        using LeakyChild child = LeakyChild.Start(perCollection: 1_000, mode: "collect");

        for (int i = 0; i < 3; i++)
        {
            HeapSnapshot snapshot = HeapSnapshot.Capture(child.Id);

            Assert.Equal(1_000, snapshot["SafeRefs.Testing.Heap.LeakyTarget.LeakedItem"].Count);
            Assert.True(snapshot.ObjectCount > 1_000);
        }
    }

    [Theory]
    [InlineData(Cli.Failure, "No process with id", "leaks", "--pid", "2147483636")]
    [InlineData(Cli.Failure, "No process with id", "snapshot", "--pid", "2147483636", "--out", "x.json")]
    [InlineData(Cli.BadUsage, "missing --process-id (or --name)", "leaks")]
    [InlineData(Cli.BadUsage, "missing --out", "snapshot", "--pid", "1")]
    [InlineData(Cli.BadUsage, "--process-id must be a whole number", "leaks", "--pid", "abc")]
    [InlineData(Cli.BadUsage, "--process-id must be a whole number", "leaks", "-p", "abc")]
    [InlineData(Cli.BadUsage, "give --process-id or --name, not both", "leaks", "-p", "1", "-n", "x")]
    [InlineData(Cli.Failure, "No process named 'no-such-process-name' is running", "leaks", "-n", "no-such-process-name")]
    [InlineData(Cli.BadUsage, "--paths must be a whole number of at least 0", "leaks", "-p", "1", "--paths", "-1")]
    [InlineData(Cli.BadUsage, "--interval must be a duration", "leaks", "--pid", "1", "--interval", "soon")]
    [InlineData(Cli.BadUsage, "--count must be a whole number of at least 2", "leaks", "--pid", "1", "--count", "1")]
    [InlineData(Cli.BadUsage, "unknown option '--pdi'", "leaks", "--pdi", "1")]
    [InlineData(Cli.BadUsage, "option '--process-id' needs a value", "leaks", "--pid")]
    [InlineData(Cli.BadUsage, "unknown command 'leak'", "leak")]
    [InlineData(Cli.BadUsage, "diff needs two or more", "diff", "a.json")]
    [InlineData(Cli.Failure, "cannot read missing-a.json: no such file", "diff", "missing-a.json", "missing-b.json")]
    public void Run_BadInput_OneLineErrorAndNonZeroExit(int expectedCode, string expectedMessage, params string[] args)
    {
        (int code, string output, string error) = Run(args);

        Assert.Equal(expectedCode, code);
        Assert.Empty(output);
        Assert.StartsWith("dotnet-saferefs: error: ", error, StringComparison.Ordinal);
        Assert.Contains(expectedMessage, error, StringComparison.Ordinal);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Diff_FileThatIsNotASnapshot_FailsWithFileName()
    {
        string bad = Path.Combine(_directory, "bad.json");
        File.WriteAllText(bad, "{\"hello\": 1}");

        (int code, _, string error) = Run("diff", bad, bad);

        Assert.Equal(Cli.Failure, code);
        Assert.Contains("bad.json: Not a SafeRefs heap snapshot", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { 100L, 200L, 300L }, true, Cli.Grew)]
    [InlineData(new[] { 100L, 200L, 300L }, false, Cli.Success)]
    [InlineData(new[] { 100L, 100L, 100L }, true, Cli.Success)]
    [InlineData(new[] { 100L, 250L }, true, Cli.Grew)]
    [InlineData(new[] { 300L, 200L }, true, Cli.Success)]
    public void Diff_FailOnGrowth_ExitsThreeOnlyWhenSomethingGrew(long[] counts, bool failOnGrowth, int expected)
    {
        string[] files = [.. counts.Select((count, i) => WriteSnapshot($"g{i}.json", count))];
        string[] args = failOnGrowth ? ["diff", .. files, "--fail-on-growth"] : ["diff", .. files];

        (int code, string output, string error) = Run(args);

        Assert.Equal(expected, code);
        Assert.Empty(error);
        Assert.NotEmpty(output); // the table (or two-file diff) is printed whatever the exit code
    }

    [Fact]
    public void Diff_FailOnGrowthWithAValue_IsABadCommandLine()
    {
        string a = WriteSnapshot("v0.json", 1);
        string b = WriteSnapshot("v1.json", 2);

        (int code, _, string error) = Run("diff", a, b, "--fail-on-growth=yes");

        Assert.Equal(Cli.BadUsage, code);
        Assert.Contains("unknown option '--fail-on-growth'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_PrintsUsage()
    {
        (int code, string output, _) = Run("--help");
        (int noArgsCode, _, _) = Run();

        Assert.Equal(Cli.Success, code);
        Assert.Contains("dotnet-saferefs leaks (-p|--process-id <pid> | -n|--name <name>)", output, StringComparison.Ordinal);
        Assert.Contains("Example session:", output, StringComparison.Ordinal);
        Assert.Equal(Cli.BadUsage, noArgsCode);
    }

    [Fact]
    public void Executable_NoSuchProcess_ExitsNonZeroWithOneLine()
    {
        var info = new ProcessStartInfo(LeakyChild.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dotnet-saferefs.dll"));
        foreach (string arg in (string[])["leaks", "--pid", NoSuchPid.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            info.ArgumentList.Add(arg);
        }

        using Process process = Process.Start(info)!;
        string error = process.StandardError.ReadToEnd();
        string output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)));

        Assert.Equal(Cli.Failure, process.ExitCode);
        Assert.Empty(output);
        Assert.Equal($"dotnet-saferefs: error: No process with id {NoSuchPid} is running.", error.Trim());
    }

    // A snapshot file as HeapSnapshot.Save writes it, with one growing type and one steady type.
    private string WriteSnapshot(string name, long leakedCount)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllText(path, $$"""
            {
              "format": "saferefs-heap-snapshot/1",
              "takenAt": "2026-11-27T00:00:00+00:00",
              "processId": 42,
              "objectCount": {{leakedCount + 10}},
              "totalBytes": {{(leakedCount * 24) + 320}},
              "types": [
                { "name": "Demo.Leaked", "assembly": "Demo", "count": {{leakedCount}}, "bytes": {{leakedCount * 24}} },
                { "name": "Demo.Steady", "assembly": "Demo", "count": 10, "bytes": 320 }
              ]
            }
            """);
        return path;
    }

    private static string Pid(LeakyChild child) => child.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = Cli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
