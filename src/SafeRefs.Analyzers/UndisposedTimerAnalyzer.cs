using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using SafeRefs.Analyzers.Internal;

namespace SafeRefs.Analyzers;

/// <summary>SR1003: a timer created and discarded, or stored only in a local that is never disposed.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UndisposedTimerAnalyzer : DiagnosticAnalyzer
{
    /// <summary>The diagnostic property telling the code fix how the timer was kept: "discarded" or "local".</summary>
    public const string KindProperty = "Kind";

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.SR1003);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var compilation = start.Compilation;
            var timerTypes = new[]
            {
                compilation.GetTypeByMetadataName("System.Threading.Timer"),
                compilation.GetTypeByMetadataName("System.Timers.Timer"),
                compilation.GetTypeByMetadataName("System.Threading.PeriodicTimer"),
            }.Where(t => t is not null).Cast<INamedTypeSymbol>().ToImmutableArray();
            var timeProvider = compilation.GetTypeByMetadataName("System.TimeProvider");

            if (!timerTypes.IsEmpty)
            {
                start.RegisterOperationAction(
                    c =>
                    {
                        var creation = (IObjectCreationOperation)c.Operation;
                        if (creation.Type is { } type && timerTypes.Contains(type.OriginalDefinition, SymbolEqualityComparer.Default))
                        {
                            Analyze(c, creation, type.Name);
                        }
                    },
                    OperationKind.ObjectCreation);
            }

            if (timeProvider is not null)
            {
                start.RegisterOperationAction(
                    c =>
                    {
                        var invocation = (IInvocationOperation)c.Operation;
                        if (invocation.TargetMethod is { Name: "CreateTimer", IsStatic: false } method
                            && method.ContainingType.InheritsFromOrEquals(timeProvider))
                        {
                            Analyze(c, invocation, "TimeProvider timer");
                        }
                    },
                    OperationKind.Invocation);
            }
        });
    }

    private static void Analyze(OperationAnalysisContext context, IOperation creation, string timerName)
    {
        if (creation.IsDiscarded(out var statement))
        {
            Report(context, statement.Syntax, timerName, "discarded", "discarded");
            return;
        }

        if (creation.ParentSkippingConversions() is IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator }
            && declarator.Parent is IVariableDeclarationOperation { Parent: IVariableDeclarationGroupOperation group }
            && group.Parent is not IUsingDeclarationOperation and not IUsingOperation
            && !IsDisposedOrEscapes(declarator.Symbol, creation.Root()))
        {
            Report(context, group.Syntax, timerName, "kept only in local '" + declarator.Symbol.Name + "'", "local");
        }
    }

    private static void Report(OperationAnalysisContext context, SyntaxNode node, string timerName, string how, string kind) =>
        context.ReportDiagnostic(Diagnostic.Create(
            Descriptors.SR1003,
            node.GetLocation(),
            ImmutableDictionary<string, string?>.Empty.Add(KindProperty, kind),
            timerName,
            how));

    // The local counts as handled if it is disposed, or if it is used in any way other than calling its members
    // (returned, stored, passed on, used by a using statement): then someone else owns it.
    private static bool IsDisposedOrEscapes(ILocalSymbol local, IOperation root)
    {
        foreach (var operation in root.Descendants())
        {
            if (operation is not ILocalReferenceOperation reference || !SymbolEqualityComparer.Default.Equals(reference.Local, local))
            {
                continue;
            }

            switch (reference.Parent)
            {
                case IInvocationOperation invocation when invocation.Instance == reference:
                    if (invocation.TargetMethod.Name is "Dispose" or "DisposeAsync" or "Close")
                    {
                        return true;
                    }

                    break;
                case IMemberReferenceOperation member when member.Instance == reference:
                    break;
                default:
                    return true;
            }
        }

        return false;
    }
}
