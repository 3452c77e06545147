using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using SafeRefs.Analyzers.Internal;

namespace SafeRefs.Analyzers;

/// <summary>SR1002: a capturing lambda (or local function) passed to <c>SafeRefs.Events.WeakEvent&lt;T&gt;.Add</c>; captures
/// through the local functions it calls count.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class WeakEventCapturingLambdaAnalyzer : DiagnosticAnalyzer
{
    /// <summary>The diagnostic property set when the lambda captures only <c>this</c> (the code fix applies).</summary>
    public const string CapturesOnlyThisProperty = "CapturesOnlyThis";

    private const string WeakEventMetadataName = "SafeRefs.Events.WeakEvent`1";

    private static readonly ImmutableDictionary<string, string?> OnlyThis =
        ImmutableDictionary<string, string?>.Empty.Add(CapturesOnlyThisProperty, "true");

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.SR1002);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var weakEvent = start.Compilation.GetTypeByMetadataName(WeakEventMetadataName);
            if (weakEvent is not null)
            {
                start.RegisterOperationAction(operationContext => Analyze(operationContext, weakEvent), OperationKind.Invocation);
            }
        });
    }

    private static void Analyze(OperationAnalysisContext context, INamedTypeSymbol weakEvent)
    {
        var invocation = (IInvocationOperation)context.Operation;
        if (invocation.TargetMethod.Name != "Add"
            || invocation.Arguments.Length != 1
            || !SymbolEqualityComparer.Default.Equals(invocation.TargetMethod.ContainingType.OriginalDefinition, weakEvent))
        {
            return;
        }

        LambdaCaptures captures;
        var properties = ImmutableDictionary<string, string?>.Empty;
        switch (invocation.Arguments[0].Value.WalkDownConversionsAndDelegates())
        {
            case IAnonymousFunctionOperation function:
                captures = LambdaCaptures.WithLocalFunctions(function, function.Symbol, function.Body);

                // The code fix rewrites `this` in the lambda's own body; captures through local functions it cannot move.
                if (captures.CapturesThis && captures.FirstCapturedVariable is null && !captures.UsesLocalFunctions)
                {
                    properties = OnlyThis;
                }

                break;

            // A local function passed as a method group: its delegate's target is the closure it captures (or `this`
            // when it captures only that, which the next captured local changes).
            case IMethodReferenceOperation { Method: { MethodKind: MethodKind.LocalFunction, IsStatic: false } method } reference:
                captures = LambdaCaptures.FindDeclaration(reference, method) is { } declaration
                    ? LambdaCaptures.WithLocalFunctions(reference, declaration.Symbol, declaration.Body)
                    : default;
                break;
            default:
                return;
        }

        if (!captures.CapturesAnything)
        {
            return;
        }

        var what = captures.FirstCapturedVariable is { } variable ? $"'{variable.Name}'" : "'this'";
        context.ReportDiagnostic(Diagnostic.Create(Descriptors.SR1002, invocation.Arguments[0].Value.Syntax.GetLocation(), properties, what));
    }
}
