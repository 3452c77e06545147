using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using SafeRefs.Analyzers.WeakEvents;

namespace SafeRefs.Analyzers.Tests.WeakEvents;

/// <summary>Runs <see cref="WeakEventGenerator"/> on C# 14 source against the running framework and SafeRefs.dll.</summary>
internal static class GeneratorHarness
{
    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Preview);

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Concat(Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll").Where(p =>
                Path.GetFileName(p) == "SafeRefs.dll" || Path.GetFileName(p).StartsWith("Microsoft.Extensions.", StringComparison.Ordinal)));
        return [.. paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    });

    /// <summary>Gets the references the harness compiles against.</summary>
    public static ImmutableArray<MetadataReference> MetadataReferences => References.Value;

    /// <summary>
    /// Runs the generator, then <see cref="WeakEventAttributeAnalyzer"/> on the result; returns the analyzer's
    /// diagnostics as (id, the source line they point at, trimmed).
    /// </summary>
    public static async Task<ImmutableArray<(string Id, string Line)>> AnalyzeAsync(string source)
    {
        var compilation = CSharpCompilation.Create(
            "Analyzed",
            [CSharpSyntaxTree.ParseText(source, ParseOptions, "Source.cs")],
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver driver = CSharpGeneratorDriver.Create([new WeakEventGenerator().AsSourceGenerator()], parseOptions: ParseOptions);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        var diagnostics = await output.WithAnalyzers([new WeakEventAttributeAnalyzer()]).GetAnalyzerDiagnosticsAsync().ConfigureAwait(false);
        return [.. diagnostics
            .OrderBy(d => d.Location.SourceSpan.Start)
            .Select(d => (d.Id, d.Location.SourceTree!.GetText().Lines.GetLineFromPosition(d.Location.SourceSpan.Start).ToString().Trim()))];
    }

    /// <summary>As <see cref="AnalyzeAsync"/>, but returns each diagnostic's id and message.</summary>
    public static async Task<ImmutableArray<(string Id, string Message)>> AnalyzeWithMessagesAsync(string source)
    {
        var compilation = CSharpCompilation.Create(
            "Analyzed",
            [CSharpSyntaxTree.ParseText(source, ParseOptions, "Source.cs")],
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver driver = CSharpGeneratorDriver.Create([new WeakEventGenerator().AsSourceGenerator()], parseOptions: ParseOptions);
        driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        var diagnostics = await output.WithAnalyzers([new WeakEventAttributeAnalyzer()]).GetAnalyzerDiagnosticsAsync().ConfigureAwait(false);
        return [.. diagnostics.Select(d => (d.Id, d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)))];
    }

    /// <summary>Runs the generator; returns the generated files and the compilation's errors and warnings after it.</summary>
    public static (ImmutableArray<(string HintName, string Source)> Files, ImmutableArray<Diagnostic> Diagnostics) Run(string source)
    {
        var compilation = CSharpCompilation.Create(
            "Generated",
            [CSharpSyntaxTree.ParseText(source, ParseOptions, "Source.cs")],
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver driver = CSharpGeneratorDriver.Create([new WeakEventGenerator().AsSourceGenerator()], parseOptions: ParseOptions);
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        var files = driver.GetRunResult().Results.SelectMany(r => r.GeneratedSources).Select(s => (s.HintName, s.SourceText.ToString())).ToImmutableArray();
        var diagnostics = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToImmutableArray();
        return (files, diagnostics);
    }
}
