using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace SafeRefs.Analyzers.WeakEvents;

/// <summary>
/// SR2001-SR2006: <c>[WeakEvent]</c> on an event the generator cannot implement (not partial, in a type that is not
/// partial, of an unsupported delegate type, where a weak backing makes no sense, with a <c>Budget</c> that names no
/// budget, or with an option set to an undefined enum value).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class WeakEventAttributeAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(Descriptors.SR2001, Descriptors.SR2002, Descriptors.SR2003, Descriptors.SR2004, Descriptors.SR2005, Descriptors.SR2006);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            if (start.Compilation.GetTypeByMetadataName(WeakEventDeclaration.AttributeName) is null)
            {
                return;
            }

            start.RegisterSymbolAction(Analyze, SymbolKind.Event);
        });
    }

    private static void Analyze(SymbolAnalysisContext context)
    {
        var symbol = (IEventSymbol)context.Symbol;
        if (symbol.PartialDefinitionPart is not null || WeakEventDeclaration.FindAttribute(symbol) is null)
        {
            // An implementation part is checked through its definition; events without the attribute are not ours.
            return;
        }

        if (WeakEventDeclaration.Check(symbol, context.Compilation, context.CancellationToken, out var problem) is null && problem is not null)
        {
            context.ReportDiagnostic(problem);
        }
    }
}
