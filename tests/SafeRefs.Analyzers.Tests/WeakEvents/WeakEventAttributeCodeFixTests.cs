using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using SafeRefs.Analyzers.CodeFixes;

namespace SafeRefs.Analyzers.Tests.WeakEvents;

/// <summary>
/// The SR1001 fix that turns the subscribed plain event into a [WeakEvent] partial event, run in a workspace with
/// C# 14 parsing (the test compiler is Roslyn 4.14, where partial events are a preview feature).
/// </summary>
public sealed class WeakEventAttributeCodeFixTests
{
    private const string Before = """
        using System;

        namespace Demo;

        public static class Settings
        {
            public static readonly Store Default = new();
        }

        public sealed class Store
        {
            public event EventHandler<int>? Saved;

            public void Save(int version) => Saved?.Invoke(this, version);
        }

        public sealed class Editor
        {
            private int _saves;

            public Editor() => Settings.Default.Saved += OnSaved;

            private void OnSaved(object? sender, int version) => _saves++;
        }
        """;

    private const string After = """
        using System;
        using SafeRefs.Events;

        namespace Demo;

        public static class Settings
        {
            public static readonly Store Default = new();
        }

        public sealed partial class Store
        {
            [WeakEvent]
            public partial event EventHandler<int>? Saved;

            public void Save(int version) => OnSaved(version);
        }

        public sealed class Editor
        {
            private int _saves;

            public Editor() => Settings.Default.Saved += OnSaved;

            private void OnSaved(object? sender, int version) => _saves++;
        }
        """;

    [Fact]
    public async Task SR1001_OnPlainEventInSolution_MakesItAWeakEvent()
    {
        var document = CreateDocument(Before);
        var diagnostic = Assert.Single(await AnalyzeAsync(document), d => d.Id == "SR1001");

        var actions = new List<CodeAction>();
        var provider = new WeakEventAttributeCodeFixProvider();
        await provider.RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (a, _) => actions.Add(a), CancellationToken.None));
        var action = Assert.Single(actions);
        Assert.Equal(WeakEventAttributeCodeFixProvider.EquivalenceKey, action.EquivalenceKey);

        var operation = Assert.Single((await action.GetOperationsAsync(CancellationToken.None)).OfType<ApplyChangesOperation>());
        var changed = operation.ChangedSolution.GetDocument(document.Id)!;
        var text = (await changed.GetTextAsync()).ToString();
        Assert.Equal(After.ReplaceLineEndings("\n"), text.ReplaceLineEndings("\n"));

        // With the generator, the fixed code compiles and the subscription is no longer reported.
        var (_, errors) = GeneratorHarness.Run(text);
        Assert.Empty(errors.Where(d => d.Severity == DiagnosticSeverity.Error));
    }

    [Fact]
    public async Task SR1001_EventPassedAroundInItsType_IsNotOffered()
    {
        var source = Before.Replace("Saved?.Invoke(this, version)", "Raise(Saved, version)", StringComparison.Ordinal)
            .Replace("public void Save(int version)", "private static void Raise(EventHandler<int>? handler, int version) => handler?.Invoke(null, version);\n\n    public void Save(int version)", StringComparison.Ordinal);
        var document = CreateDocument(source);
        var diagnostic = Assert.Single(await AnalyzeAsync(document), d => d.Id == "SR1001");

        var actions = new List<CodeAction>();
        await new WeakEventAttributeCodeFixProvider().RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (a, _) => actions.Add(a), CancellationToken.None));
        Assert.Empty(actions);
    }

    [Fact]
    public async Task SR1001_OnEventWithAccessors_IsNotOffered()
    {
        var source = Before.Replace(
            "public event EventHandler<int>? Saved;",
            "public event EventHandler<int>? Saved { add { } remove { } }",
            StringComparison.Ordinal).Replace("Saved?.Invoke(this, version)", "_ = version", StringComparison.Ordinal);
        var document = CreateDocument(source);
        var diagnostic = Assert.Single(await AnalyzeAsync(document), d => d.Id == "SR1001");

        var actions = new List<CodeAction>();
        await new WeakEventAttributeCodeFixProvider().RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (a, _) => actions.Add(a), CancellationToken.None));
        Assert.Empty(actions);
    }

    // A base class's raise method with the generated one's parameters would be hidden (SR2004): the fix turned compiling
    // code into a build error. The twin, an overload with other parameters, is offered and compiles.
    [Theory]
    [InlineData("int", false)]
    [InlineData("string", true)]
    public async Task SR1001_BaseClassHasTheRaiseMethod_OfferedOnlyWhereTheGeneratorGenerates(string parameter, bool offered)
    {
        var source = Before.Replace("public sealed class Store", "public class StoreBase\n{\n    protected virtual void OnSaved(" + parameter + " e) { }\n}\n\npublic sealed class Store : StoreBase", StringComparison.Ordinal);
        await AssertOfferedOnlyWhereGenerated(source, offered);
    }

    // A file-local type's parts must all be in one file, and the generated part is in another (SR2004): the fix turned
    // compiling code into a build error. The twin, the same classes internal, is offered and compiles.
    [Theory]
    [InlineData("file", false)]
    [InlineData("internal", true)]
    public async Task SR1001_FileLocalType_OfferedOnlyWhereTheGeneratorGenerates(string modifier, bool offered)
    {
        var source = Before.Replace("public static class", modifier + " static class", StringComparison.Ordinal)
            .Replace("public sealed class", modifier + " sealed class", StringComparison.Ordinal);
        await AssertOfferedOnlyWhereGenerated(source, offered);
    }

    // The fix is offered (once) or not; where offered, its result compiles with the generator and nothing is reported.
    private static async Task AssertOfferedOnlyWhereGenerated(string source, bool offered)
    {
        var document = CreateDocument(source);
        var diagnostic = Assert.Single(await AnalyzeAsync(document), d => d.Id == "SR1001");

        var actions = new List<CodeAction>();
        await new WeakEventAttributeCodeFixProvider().RegisterCodeFixesAsync(new CodeFixContext(document, diagnostic, (a, _) => actions.Add(a), CancellationToken.None));

        Assert.Equal(offered, actions.Count == 1);
        if (offered)
        {
            var operation = Assert.Single((await actions[0].GetOperationsAsync(CancellationToken.None)).OfType<ApplyChangesOperation>());
            var text = (await operation.ChangedSolution.GetDocument(document.Id)!.GetTextAsync()).ToString();
            var (_, errors) = GeneratorHarness.Run(text);
            Assert.Empty(errors);
            Assert.Empty(await GeneratorHarness.AnalyzeAsync(text));
        }
    }

    private static Document CreateDocument(string source)
    {
        var workspace = new AdhocWorkspace();
        var project = workspace.AddProject(ProjectInfo.Create(
            ProjectId.CreateNewId(),
            VersionStamp.Create(),
            "Demo",
            "Demo",
            LanguageNames.CSharp,
            compilationOptions: new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable),
            parseOptions: new CSharpParseOptions(LanguageVersion.Preview),
            metadataReferences: GeneratorHarness.MetadataReferences));
        return workspace.AddDocument(project.Id, "Source.cs", SourceText.From(source));
    }

    private static async Task<ImmutableArray<Diagnostic>> AnalyzeAsync(Document document)
    {
        var compilation = (await document.Project.GetCompilationAsync())!;
        return await compilation.WithAnalyzers([new EventSubscriptionAnalyzer()]).GetAnalyzerDiagnosticsAsync();
    }
}
