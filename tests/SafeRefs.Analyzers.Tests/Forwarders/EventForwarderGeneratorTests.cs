using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using SafeRefs.Analyzers.Forwarders;
using SafeRefs.Analyzers.Tests.WeakEvents;

namespace SafeRefs.Analyzers.Tests.Forwarders;

/// <summary>
/// Snapshot tests of <see cref="EventForwarderGenerator"/>: the registrations for each delegate shape, compared with
/// <c>Snapshots/*.g.cs.txt</c>, and the compilation with the generated code has no errors or warnings. Set
/// SAFEREFS_UPDATE_SNAPSHOTS=1 to rewrite them.
/// </summary>
public sealed class EventForwarderGeneratorTests
{
    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Preview);

    private const string Header = """
        #pragma warning disable CS0067 // the events are only subscribed
        using System;
        using SafeRefs.Subscriptions;

        namespace Demo;

        public delegate void Priced(string symbol, decimal price, long stamp);

        public delegate int Counted(ref int total, out string? label, in long stamp);

        public delegate void Received<T>(T value, int index);

        public sealed class Outer
        {
            public delegate bool Check(object? item);
        }

        public sealed class Feed
        {
            public event Priced? Priced;
            public event Counted? Counted;
            public event Received<string>? Received;
            public event Outer.Check? Checked;
            public event Func<int, string?>? Asked;
            public event Action<int, string, double>? Moved;
            public event EventHandler? Changed;
            public event EventHandler<int>? Valued;
            public event Action? Signalled;
            public event Action<int>? Counted1;
        }

        """;

    [Fact]
    public void EveryShape_OneRegistrationPerType_BuiltInsLeftOut() => Check("Shapes", Header + """
        public static class Subscriber
        {
            public static void Run(Feed feed)
            {
                Subscribe.Event(feed, static (f, h) => f.Priced += h, static (f, h) => f.Priced -= h, (Priced)((_, _, _) => { }));
                Subscribe.Event(feed, static (f, h) => f.Priced += h, static (f, h) => f.Priced -= h, (Priced)((_, _, _) => { }));
                Subscribe.Event(feed, static (f, h) => f.Counted += h, static (f, h) => f.Counted -= h, (Counted)((ref int t, out string? l, in long s) => { l = null; return t; }));
                Subscribe.Event(feed, static (f, h) => f.Received += h, static (f, h) => f.Received -= h, (Received<string>)((_, _) => { }));
                Subscribe.Event(feed, static (f, h) => f.Checked += h, static (f, h) => f.Checked -= h, (Outer.Check)(_ => true));
                Subscribe.Event(feed, static (f, h) => f.Asked += h, static (f, h) => f.Asked -= h, (Func<int, string?>)(_ => null));
                Subscribe.Event(feed, static (f, h) => f.Moved += h, static (f, h) => f.Moved -= h, (Action<int, string, double>)((_, _, _) => { }));
                Subscribe.Event(feed, static (f, h) => f.Changed += h, static (f, h) => f.Changed -= h, (EventHandler)((_, _) => { }));
                Subscribe.Event(feed, static (f, h) => f.Valued += h, static (f, h) => f.Valued -= h, (EventHandler<int>)((_, _) => { }));
                Subscribe.Event(feed, static (f, h) => f.Signalled += h, static (f, h) => f.Signalled -= h, (Action)(() => { }));
                Subscribe.Event(feed, static (f, h) => f.Counted1 += h, static (f, h) => f.Counted1 -= h, (Action<int>)(_ => { }));
            }
        }
        """);

    [Fact]
    public void PoolLeaseOn_RegistersItsDelegateType()
    {
        var (files, diagnostics) = Run(Header + """
            public static class Renter
            {
                public static void Run(SafeRefs.Pooling.PoolLease<Feed> lease) =>
                    lease.On(static (f, h) => f.Priced += h, static (f, h) => f.Priced -= h, (Priced)((_, _, _) => { }));
            }
            """);

        Assert.Empty(diagnostics);
        Assert.Contains("EventForwarders.Register<global::Demo.Priced>(", Single(files), StringComparison.Ordinal);
    }

    [Fact]
    public void CallsInAnotherOrder_SameFile()
    {
        var first = Header + """
            public static class Subscriber
            {
                public static void Run(Feed feed)
                {
                    Subscribe.Event(feed, static (f, h) => f.Priced += h, static (f, h) => f.Priced -= h, (Priced)((_, _, _) => { }));
                    Subscribe.Event(feed, static (f, h) => f.Asked += h, static (f, h) => f.Asked -= h, (Func<int, string?>)(_ => null));
                }
            }
            """;
        var second = Header + """
            public static class Subscriber
            {
                public static void Run(Feed feed)
                {
                    Subscribe.Event(feed, static (f, h) => f.Asked += h, static (f, h) => f.Asked -= h, (Func<int, string?>)(_ => null));
                    Subscribe.Event(feed, static (f, h) => f.Priced += h, static (f, h) => f.Priced -= h, (Priced)((_, _, _) => { }));
                }
            }
            """;

        Assert.Equal(Single(Run(first).Files), Single(Run(second).Files));
    }

    [Fact]
    public void OnlyBuiltInsAndUncoverableTypes_NoFile()
    {
        var (files, diagnostics) = Run(Header + """
            public static class Subscriber
            {
                private delegate void Hidden(int value);

                private sealed class HiddenSource
                {
                    public event Hidden? Changed;
                }

                public static void Run<THandler>(Feed feed, THandler handler)
                    where THandler : Delegate
                {
                    Subscribe.Event(feed, static (f, h) => f.Changed += h, static (f, h) => f.Changed -= h, (EventHandler)((_, _) => { }));
                    Subscribe.Event(feed, static (_, _) => { }, static (_, _) => { }, handler);
                    Subscribe.Event(new HiddenSource(), static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (Hidden)(_ => { }));
                }
            }
            """);

        Assert.Empty(diagnostics);
        Assert.Empty(files);
    }

    [Fact]
    public void UnrelatedEdit_RegistrationsCached()
    {
        var source = Header + """
            public static class Subscriber
            {
                public static void Run(Feed feed) =>
                    Subscribe.Event(feed, static (f, h) => f.Priced += h, static (f, h) => f.Priced -= h, (Priced)((_, _, _) => { }));
            }
            """;
        var compilation = Compilation(source);
        GeneratorDriver driver = CSharpGeneratorDriver.Create(
            [new EventForwarderGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
        driver = driver.RunGenerators(compilation);
        driver = driver.RunGenerators(compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace Demo; public static class Other { public static int Answer => 42; }", ParseOptions)));

        var outputs = driver.GetRunResult().Results[0].TrackedOutputSteps.SelectMany(static s => s.Value).SelectMany(static s => s.Outputs);
        Assert.All(outputs, static o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    private static string Single(ImmutableArray<(string HintName, string Source)> files)
    {
        var file = Assert.Single(files);
        Assert.Equal("SafeRefs.EventForwarders.g.cs", file.HintName);
        return file.Source;
    }

    private static void Check(string name, string source)
    {
        var (files, diagnostics) = Run(source);
        Assert.Empty(diagnostics);
        var actual = Single(files).Replace("\r\n", "\n", StringComparison.Ordinal);
        var path = Path.Combine(RepositoryRoot(), "tests", "SafeRefs.Analyzers.Tests", "Forwarders", "Snapshots", name + ".g.cs.txt");
        if (Environment.GetEnvironmentVariable("SAFEREFS_UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(path, actual);
        }

        Assert.True(File.Exists(path), $"No snapshot {path}: run with SAFEREFS_UPDATE_SNAPSHOTS=1 and review it.");
        Assert.Equal(File.ReadAllText(path).Replace("\r\n", "\n", StringComparison.Ordinal), actual);
    }

    private static CSharpCompilation Compilation(string source) => CSharpCompilation.Create(
        "Generated",
        [CSharpSyntaxTree.ParseText(source, ParseOptions, "Source.cs")],
        GeneratorHarness.MetadataReferences,
        new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    // Runs the generator; returns the generated files and the compilation's errors and warnings after it.
    private static (ImmutableArray<(string HintName, string Source)> Files, ImmutableArray<Diagnostic> Diagnostics) Run(string source)
    {
        GeneratorDriver driver = CSharpGeneratorDriver.Create([new EventForwarderGenerator().AsSourceGenerator()], parseOptions: ParseOptions);
        driver = driver.RunGeneratorsAndUpdateCompilation(Compilation(source), out var output, out _);
        var files = driver.GetRunResult().Results.SelectMany(static r => r.GeneratedSources).Select(static s => (s.HintName, s.SourceText.ToString())).ToImmutableArray();
        var diagnostics = output.GetDiagnostics().Where(static d => d.Severity >= DiagnosticSeverity.Warning).ToImmutableArray();
        return (files, diagnostics);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "SafeRefs.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("SafeRefs.sln not found above " + AppContext.BaseDirectory);
    }
}
