using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using SafeRefs.Analyzers.Internal;

namespace SafeRefs.Analyzers;

/// <summary>
/// SR1002: a capturing lambda (or local function) passed to <c>SafeRefs.Events.WeakEvent&lt;T&gt;.Add</c>; captures
/// through the local functions it calls count. SR1010: a capturing <c>add</c>/<c>remove</c> lambda (or an instance
/// method group) passed to <c>Subscribe.WeakEvent</c>, which keeps those delegates strongly for the subscription's
/// life and therefore refuses them at run time.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class WeakEventCapturingLambdaAnalyzer : DiagnosticAnalyzer
{
    /// <summary>The diagnostic property set when the lambda captures only <c>this</c> (the code fix applies).</summary>
    public const string CapturesOnlyThisProperty = "CapturesOnlyThis";

    /// <summary>The SR1010 diagnostic property set when the lambda is <c>(s, h) =&gt; x.E op h</c> and <c>s.E</c> is valid: the code
    /// fix rewrites it to <c>static (s, h) =&gt; s.E op h</c>.</summary>
    public const string UseSourceParameterProperty = "UseSourceParameter";

    private const string WeakEventMetadataName = "SafeRefs.Events.WeakEvent`1";
    private const string SubscribeMetadataName = "SafeRefs.Subscriptions.Subscribe";

    private static readonly ImmutableDictionary<string, string?> UseSourceParameter =
        ImmutableDictionary<string, string?>.Empty.Add(UseSourceParameterProperty, "true");

    private static readonly ImmutableDictionary<string, string?> OnlyThis =
        ImmutableDictionary<string, string?>.Empty.Add(CapturesOnlyThisProperty, "true");

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.SR1002, Descriptors.SR1010);

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

            var subscribe = start.Compilation.GetTypeByMetadataName(SubscribeMetadataName);
            if (subscribe is not null)
            {
                start.RegisterOperationAction(operationContext => AnalyzeAccessors(operationContext, subscribe), OperationKind.Invocation);
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

    // SR1010: Subscribe.WeakEvent(source, add, remove, owner, handler) keeps `add` and `remove` strongly (the source
    // roots the subscription through the forwarding handler), so it refuses at run time (ArgumentException) any
    // accessor whose delegate has a target other than the compiler's cached singleton: a lambda or local function that
    // captures anything, or an instance method group. This rule reports the same set at build time.
    private static void AnalyzeAccessors(OperationAnalysisContext context, INamedTypeSymbol subscribe)
    {
        var invocation = (IInvocationOperation)context.Operation;
        if (invocation.TargetMethod.Name != "WeakEvent"
            || !SymbolEqualityComparer.Default.Equals(invocation.TargetMethod.ContainingType, subscribe))
        {
            return;
        }

        foreach (var argument in invocation.Arguments)
        {
            if (argument.Parameter?.Name is not ("add" or "remove"))
            {
                continue;
            }

            var properties = ImmutableDictionary<string, string?>.Empty;
            string what;
            switch (argument.Value.WalkDownConversionsAndDelegates())
            {
                case IAnonymousFunctionOperation function:
                    var captures = LambdaCaptures.WithLocalFunctions(function, function.Symbol, function.Body);
                    if (!captures.CapturesAnything)
                    {
                        continue;
                    }

                    what = captures.FirstCapturedVariable is { } variable ? $"'{variable.Name}'" : "'this'";
                    if (SingleEventAssignment(function) is { } assignment && !captures.UsesLocalFunctions && CanUseSourceParameter(assignment, function, invocation))
                    {
                        properties = UseSourceParameter;
                    }

                    break;

                // A local function's delegate targets its closure when it captures (the compiler's singleton when not).
                case IMethodReferenceOperation { Method: { MethodKind: MethodKind.LocalFunction, IsStatic: false } method } reference:
                    var localCaptures = LambdaCaptures.FindDeclaration(reference, method) is { } declaration
                        ? LambdaCaptures.WithLocalFunctions(reference, declaration.Symbol, declaration.Body)
                        : default;
                    if (!localCaptures.CapturesAnything)
                    {
                        continue;
                    }

                    what = localCaptures.FirstCapturedVariable is { } captured ? $"'{captured.Name}'" : "'this'";
                    break;

                // An instance method group (or an extension method bound to a receiver) targets that object.
                case IMethodReferenceOperation { Instance: { } receiver } when receiver.Syntax is { } receiverSyntax:
                    what = receiver is IInstanceReferenceOperation ? "'this'" : $"'{receiverSyntax}'";
                    break;
                default:
                    continue;
            }

            context.ReportDiagnostic(Diagnostic.Create(
                Descriptors.SR1010,
                argument.Value.Syntax.GetLocation(),
                properties,
                argument.Parameter.Name,
                what,
                argument.Parameter.Name == "add" ? "+=" : "-="));
        }
    }

    // The body `x.E += h` / `x.E -= h` (expression or single statement), with `h` the lambda's handler parameter.
    private static IEventAssignmentOperation? SingleEventAssignment(IAnonymousFunctionOperation function)
    {
        if (function.Symbol.Parameters.Length != 2)
        {
            return null;
        }

        var statements = function.Body.Operations.Where(o => !o.IsImplicit || o is not IReturnOperation { ReturnedValue: null }).ToList();
        var expression = statements.Count == 1
            ? statements[0] switch
            {
                IExpressionStatementOperation statement => statement.Operation,
                IReturnOperation { ReturnedValue: { } value } => value,
                _ => null,
            }
            : null;
        return expression is IEventAssignmentOperation assignment
            && assignment.HandlerValue.WalkDownConversions() is IParameterReferenceOperation handler
            && SymbolEqualityComparer.Default.Equals(handler.Parameter, function.Symbol.Parameters[1])
            ? assignment
            : null;
    }

    // The receiver names the same variable or member as the source argument (`Subscribe.WeakEvent(_feed, (f, h) =>
    // _feed.X -= h, ...)`), so the source parameter is the same object; the body's only captures sit in that receiver.
    private static bool CanUseSourceParameter(IEventAssignmentOperation assignment, IAnonymousFunctionOperation function, IInvocationOperation subscribe)
    {
        if (assignment.EventReference is not IEventReferenceOperation { Instance: { } receiver } eventReference
            || function.Symbol.Parameters[0].IsDiscard
            || subscribe.TargetMethod.TypeArguments.Length == 0)
        {
            return false;
        }

        if (subscribe.Arguments.FirstOrDefault(a => a.Parameter?.Ordinal == 0) is not { } sourceArgument
            || ReferencedSymbol(receiver) is not { } receiverSymbol
            || !SymbolEqualityComparer.Default.Equals(receiverSymbol, ReferencedSymbol(sourceArgument.Value)))
        {
            return false;
        }

        var source = subscribe.TargetMethod.TypeArguments[0];
        var declaring = eventReference.Event.ContainingType.OriginalDefinition;
        return (source.InheritsFromOrEquals(declaring) || source.AllInterfaces.Any(i => SymbolEqualityComparer.Default.Equals(i.OriginalDefinition, declaring)))
            && !function.Symbol.IsStatic;
    }

    private static ISymbol? ReferencedSymbol(IOperation operation) => operation.WalkDownConversions() switch
    {
        ILocalReferenceOperation local => local.Local,
        IParameterReferenceOperation parameter => parameter.Parameter,
        IFieldReferenceOperation { Instance: null or IInstanceReferenceOperation } field => field.Field,
        IPropertyReferenceOperation { Instance: null or IInstanceReferenceOperation, Arguments.Length: 0 } property => property.Property,
        _ => null,
    };
}
