using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using SafeRefs.Analyzers.Internal;

namespace SafeRefs.Analyzers;

/// <summary>SR1002: a capturing lambda passed to <c>SafeRefs.Events.WeakEvent&lt;T&gt;.Add</c>.</summary>
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
            || !SymbolEqualityComparer.Default.Equals(invocation.TargetMethod.ContainingType.OriginalDefinition, weakEvent)
            || invocation.Arguments[0].Value.WalkDownConversionsAndDelegates() is not IAnonymousFunctionOperation function)
        {
            return;
        }

        var captures = LambdaCaptures.Of(function);
        if (!captures.CapturesAnything)
        {
            return;
        }

        var what = captures.FirstCapturedVariable is { } variable ? $"'{variable.Name}'" : "'this'";
        var properties = captures.FirstCapturedVariable is null ? OnlyThis : ImmutableDictionary<string, string?>.Empty;
        context.ReportDiagnostic(Diagnostic.Create(Descriptors.SR1002, function.Syntax.GetLocation(), properties, what));
    }
}
