using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace SafeRefs.Analyzers.Forwarders;

/// <summary>
/// SR1012: a <c>Subscribe.Event&lt;TSource, THandler&gt;</c> call whose delegate type gets no generated forwarder (a
/// type parameter at the call site; a type generated code cannot name, or one returning by reference), so the
/// subscription keeps "no start after <c>Dispose</c>" only if a forwarder is registered by hand.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ForwarderCoverageAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.SR1012);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(static start =>
        {
            if (start.Compilation.GetTypeByMetadataName(ForwarderTargets.RegistryName) is null)
            {
                return;
            }

            start.RegisterOperationAction(static operation => Analyze(operation), OperationKind.Invocation);
        });
    }

    private static void Analyze(OperationAnalysisContext context)
    {
        var invocation = (IInvocationOperation)context.Operation;
        if (ForwarderTargets.HandlerType(invocation.TargetMethod) is not { } type)
        {
            return;
        }

        string? reason;
        switch (ForwarderTargets.Classify(type, context.Compilation, out reason))
        {
            case ForwarderCoverage.TypeParameter:
                reason = "it is a type parameter here, unknown to the generator";
                break;
            case ForwarderCoverage.Unsupported:
                break;
            default:
                return;
        }

        var location = invocation.Syntax is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax member }
            ? member.Name.GetLocation()
            : invocation.Syntax.GetLocation();
        context.ReportDiagnostic(Diagnostic.Create(
            Descriptors.SR1012,
            location,
            type.ToDisplayString(SymbolDisplayFormat.CSharpShortErrorMessageFormat),
            reason));
    }
}
