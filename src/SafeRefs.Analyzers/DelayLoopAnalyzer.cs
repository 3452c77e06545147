using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;
using SafeRefs.Analyzers.Internal;

namespace SafeRefs.Analyzers;

/// <summary>
/// SR1007: an endless loop (<c>while (true)</c>, <c>for (;;)</c>, <c>do … while (true)</c>) around
/// <c>await Task.Delay(...)</c> without a cancellation token that uses <c>this</c> or a local, parameter or closure
/// variable declared outside the loop (the timer queue roots them through the state machine or closure).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class DelayLoopAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.SR1007);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var task = start.Compilation.GetTypeByMetadataName("System.Threading.Tasks.Task");
            if (task is not null)
            {
                start.RegisterOperationAction(c => Analyze(c, task), OperationKind.Loop);
            }
        });
    }

    private static void Analyze(OperationAnalysisContext context, INamedTypeSymbol task)
    {
        var loop = (ILoopOperation)context.Operation;
        if (!IsEndless(loop) || RunsForTheProcess(context.ContainingSymbol, context.Compilation, context.CancellationToken))
        {
            return;
        }

        var awaitsDelay = false;
        var usesThis = false;
        ISymbol? captured = null;
        foreach (var operation in loop.Body.DescendantsAndSelf())
        {
            switch (operation)
            {
                case IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }:
                    usesThis = true;
                    break;
                case IParameterReferenceOperation parameter when IsPrimaryConstructorParameter(parameter.Parameter, context.ContainingSymbol):
                    usesThis = true; // a captured primary-constructor parameter is state of `this`
                    break;
                case ILocalReferenceOperation local when captured is null && IsRootedState(local.Local, local.Local.Type, loop):
                    captured = local.Local;
                    break;
                case IParameterReferenceOperation parameter when captured is null && IsRootedState(parameter.Parameter, parameter.Parameter.Type, loop):
                    captured = parameter.Parameter;
                    break;
                case IAwaitOperation awaitOperation when IsUncancellableDelay(awaitOperation.Operation, task)
                    && !IsInNestedFunction(awaitOperation, loop):
                    awaitsDelay = true;
                    break;
                case IReturnOperation exit when !IsInNestedFunction(exit, loop):
                    return;
                case IBranchOperation { BranchKind: BranchKind.Break } branch when SymbolEqualityComparer.Default.Equals(branch.Target, loop.ExitLabel):
                    return;
                case IThrowOperation thrown when !IsInNestedFunction(thrown, loop):
                    return;
            }
        }

        if (!awaitsDelay || (!usesThis && captured is null))
        {
            return;
        }

        var what = usesThis
            ? "'this' ('" + context.ContainingSymbol.ContainingType.Name + "')"
            : "'" + captured!.Name + "' (and what it references)";
        context.ReportDiagnostic(Diagnostic.Create(Descriptors.SR1007, HeaderLocation(loop.Syntax), what));
    }

    // The loop of the entry point (Main, top-level statements) is the process itself: nothing outlives it.
    private static bool RunsForTheProcess(ISymbol member, Compilation compilation, CancellationToken cancellationToken) =>
        member is IMethodSymbol { IsStatic: true, Name: "Main" or "<Main>$" } method
        || SymbolEqualityComparer.Default.Equals(member, compilation.GetEntryPoint(cancellationToken));

    // A local, parameter or closure variable declared outside the loop: the async state machine (or the closure) the
    // timer queue holds keeps it for as long as the loop runs. Value types, strings and weak references root nothing
    // worth reporting.
    private static bool IsRootedState(ISymbol variable, ITypeSymbol type, ILoopOperation loop)
    {
        if (!type.IsReferenceType || type.SpecialType == SpecialType.System_String
            || type.OriginalDefinition is { Name: "WeakReference", ContainingNamespace.Name: "System" }
            || variable is ILocalSymbol { IsConst: true })
        {
            return false;
        }

        var declarations = variable.DeclaringSyntaxReferences;
        return !declarations.IsEmpty
            && declarations[0].SyntaxTree == loop.Syntax.SyntaxTree
            && !loop.Syntax.Span.Contains(declarations[0].Span);
    }

    private static bool IsEndless(ILoopOperation loop)
    {
        return loop switch
        {
            IWhileLoopOperation whileLoop => whileLoop.Condition is null || IsConstantTrue(whileLoop.Condition, whileLoop.ConditionIsUntil),
            IForLoopOperation forLoop => forLoop.Condition is null || IsConstantTrue(forLoop.Condition, false),
            _ => false,
        };
    }

    private static bool IsConstantTrue(IOperation condition, bool isUntil) =>
        condition.ConstantValue is { HasValue: true, Value: bool value } && value != isUntil;

    // await Task.Delay(...) or await Task.Delay(...).ConfigureAwait(...), with no real cancellation token.
    private static bool IsUncancellableDelay(IOperation awaited, INamedTypeSymbol task)
    {
        var operation = awaited.WalkDownConversions();
        if (operation is IInvocationOperation { TargetMethod.Name: "ConfigureAwait", Instance: { } configured })
        {
            operation = configured.WalkDownConversions();
        }

        if (operation is not IInvocationOperation { TargetMethod: { Name: "Delay", IsStatic: true } delay } invocation
            || !SymbolEqualityComparer.Default.Equals(delay.ContainingType, task))
        {
            return false;
        }

        foreach (var argument in invocation.Arguments)
        {
            if (argument.Parameter?.Type.Name == "CancellationToken" && argument.ArgumentKind != ArgumentKind.DefaultValue
                && argument.Value.IsRealCancellationToken())
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsPrimaryConstructorParameter(IParameterSymbol parameter, ISymbol member) =>
        parameter.ContainingSymbol is IMethodSymbol { MethodKind: MethodKind.Constructor } constructor
        && !SymbolEqualityComparer.Default.Equals(constructor, member)
        && SymbolEqualityComparer.Default.Equals(constructor.ContainingType, member.ContainingType);

    private static bool IsInNestedFunction(IOperation operation, IOperation loop)
    {
        for (var current = operation.Parent; current is not null && current != loop; current = current.Parent)
        {
            if (current is IAnonymousFunctionOperation or ILocalFunctionOperation)
            {
                return true;
            }
        }

        return false;
    }

    // Squiggle the loop header (`while (true)`, `for (;;)`, `do`), not the whole body.
    private static Location HeaderLocation(SyntaxNode syntax)
    {
        var span = syntax switch
        {
            WhileStatementSyntax s => TextSpan.FromBounds(s.WhileKeyword.SpanStart, s.CloseParenToken.Span.End),
            ForStatementSyntax s => TextSpan.FromBounds(s.ForKeyword.SpanStart, s.CloseParenToken.Span.End),
            DoStatementSyntax s => s.DoKeyword.Span,
            _ => syntax.Span,
        };
        return Location.Create(syntax.SyntaxTree, span);
    }
}
