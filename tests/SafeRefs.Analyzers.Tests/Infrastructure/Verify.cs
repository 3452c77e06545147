using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace SafeRefs.Analyzers.Tests.Infrastructure;

/// <summary>Runs an analyzer (and optionally a code fix) on C# source against the .NET 10 reference assemblies.</summary>
internal static class Verify
{
    /// <summary>
    /// The .NET 10 reference pack (ReferenceAssemblies.Net.Net100 names a pack version that is not served).
    /// </summary>
    public static readonly ReferenceAssemblies Net100 = new(
        "net10.0",
        new PackageIdentity("Microsoft.NETCore.App.Ref", "10.0.12"),
        Path.Combine("ref", "net10.0"));

    /// <summary>Checks that <typeparamref name="TAnalyzer"/> reports exactly the markup spans of <paramref name="source"/>.</summary>
    public static Task AnalyzerAsync<TAnalyzer>(string source)
        where TAnalyzer : DiagnosticAnalyzer, new() =>
        AnalyzerAsync<TAnalyzer>(source, OutputKind.DynamicallyLinkedLibrary);

    /// <summary>
    /// Checks that <typeparamref name="TAnalyzer"/> reports exactly the markup spans of <paramref name="source"/>,
    /// compiled as <paramref name="outputKind"/>, plus <paramref name="expected"/> (for checking messages).
    /// </summary>
    public static Task AnalyzerAsync<TAnalyzer>(string source, OutputKind outputKind, params DiagnosticResult[] expected)
        where TAnalyzer : DiagnosticAnalyzer, new()
    {
        var test = new CSharpAnalyzerTest<TAnalyzer, DefaultVerifier> { TestCode = source };
        test.TestState.OutputKind = outputKind;
        test.ExpectedDiagnostics.AddRange(expected);
        Configure(test);
        return test.RunAsync();
    }

    /// <summary>
    /// Checks that <typeparamref name="TAnalyzer"/> reports exactly the markup spans of <paramref name="source"/> with
    /// <paramref name="editorConfig"/> (lines of a <c>[*.cs]</c> section, e.g. <c>saferefs.SR1004.mode = strict</c>).
    /// </summary>
    public static Task AnalyzerWithConfigAsync<TAnalyzer>(string source, string editorConfig, OutputKind outputKind = OutputKind.DynamicallyLinkedLibrary)
        where TAnalyzer : DiagnosticAnalyzer, new()
    {
        var test = new CSharpAnalyzerTest<TAnalyzer, DefaultVerifier> { TestCode = source };
        test.TestState.OutputKind = outputKind;
        test.TestState.AnalyzerConfigFiles.Add(("/.editorconfig", "root = true\n\n[*.cs]\n" + editorConfig + "\n"));
        Configure(test);
        return test.RunAsync();
    }

    /// <summary>
    /// Checks the diagnostics of <paramref name="source"/>, applies code action <paramref name="equivalenceKey"/>
    /// <paramref name="iterations"/> times (0: it must not be offered) and checks the result equals
    /// <paramref name="fixedSource"/> and compiles without errors.
    /// </summary>
    public static Task CodeFixAsync<TAnalyzer, TCodeFix>(string source, string fixedSource, string? equivalenceKey = null, int iterations = 1)
        where TAnalyzer : DiagnosticAnalyzer, new()
        where TCodeFix : CodeFixProvider, new()
    {
        var test = new CSharpCodeFixTest<TAnalyzer, TCodeFix, DefaultVerifier>
        {
            TestCode = source,
            FixedCode = fixedSource,
            CodeActionEquivalenceKey = equivalenceKey,
            NumberOfFixAllIterations = Math.Min(iterations, 1),
            NumberOfIncrementalIterations = iterations,
        };
        test.CodeFixTestBehaviors |= CodeFixTestBehaviors.SkipFixAllCheck;
        Configure(test);
        test.FixedState.Sources.Add(("Stubs.cs", Stubs.Source));
        return test.RunAsync();
    }

    /// <summary>
    /// Compiles a documentation example against the real SafeRefs assembly (no stubs) plus <see cref="DocContext"/>, and
    /// checks that <typeparamref name="TAnalyzer"/> reports exactly <paramref name="flagged"/> (rule id and the
    /// exact text of each reported span); an example with no <paramref name="flagged"/> entries must be clean.
    /// </summary>
    public static Task DocExampleAsync<TAnalyzer>(string source, params (string Id, string Text)[] flagged)
        where TAnalyzer : DiagnosticAnalyzer, new()
    {
        var test = new CSharpAnalyzerTest<TAnalyzer, DefaultVerifier> { TestCode = source, ReferenceAssemblies = Net100 };
        test.TestState.Sources.Add(("DocContext.cs", DocContext.Source));
        foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll"))
        {
            var name = Path.GetFileName(file);
            if (name == "SafeRefs.dll" || (name.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal) && !name.Contains("Testing", StringComparison.Ordinal)))
            {
                test.TestState.AdditionalReferences.Add(MetadataReference.CreateFromFile(file));
            }
        }

        foreach (var (id, text) in flagged)
        {
            var start = source.IndexOf(text, StringComparison.Ordinal);
            Assert.True(start >= 0, "flagged text not found in the example: " + text);
            var (line, column) = Position(source, start);
            var (endLine, endColumn) = Position(source, start + text.Length);
            test.ExpectedDiagnostics.Add(new DiagnosticResult(id, DiagnosticSeverity.Warning).WithSpan(line, column, endLine, endColumn));
        }

        AddNullable(test);
        return test.RunAsync();
    }

    private static (int Line, int Column) Position(string source, int index)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < index; i++)
        {
            if (source[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return (line, index - lineStart + 1);
    }

    private static void Configure<TVerifier>(AnalyzerTest<TVerifier> test)
        where TVerifier : IVerifier, new()
    {
        test.ReferenceAssemblies = Net100;
        test.TestState.Sources.Add(("Stubs.cs", Stubs.Source));
        AddNullable(test);
    }

    private static void AddNullable<TVerifier>(AnalyzerTest<TVerifier> test)
        where TVerifier : IVerifier, new()
    {
        test.SolutionTransforms.Add((solution, projectId) =>
        {
            var project = solution.GetProject(projectId)!;
            var options = ((CSharpCompilationOptions)project.CompilationOptions!).WithNullableContextOptions(NullableContextOptions.Enable);
            var parse = ((CSharpParseOptions)project.ParseOptions!).WithLanguageVersion(LanguageVersion.Latest);
            return solution.WithProjectCompilationOptions(projectId, options).WithProjectParseOptions(projectId, parse);
        });
    }
}
