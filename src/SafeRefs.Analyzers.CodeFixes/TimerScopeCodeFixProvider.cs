using System.Collections.Immutable;
using System.Composition;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;

namespace SafeRefs.Analyzers.CodeFixes;

/// <summary>
/// Fixes SR1003 with a <c>SafeRefs.Timers.TimerScope</c> when the discarded timer is periodic with its first tick one
/// period away and no state: <c>new Timer(_ => Tick(), null, p, p);</c> or <c>provider.CreateTimer(_ => Tick(), null, p, p);</c>
/// becomes <c>_timers.Every(this, p, static owner => owner.Tick());</c>, with a <c>TimerScope</c> field disposed by
/// the class (the owner is held weakly, so the timer no longer roots it).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(TimerScopeCodeFixProvider))]
[Shared]
public sealed class TimerScopeCodeFixProvider : CodeFixProvider
{
    private const string TimerScopeMetadataName = "SafeRefs.Timers.TimerScope";

    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.UndisposedTimer);

    /// <inheritdoc/>
    public override FixAllProvider? GetFixAllProvider() => null;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var diagnostic = context.Diagnostics[0];
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null || model is null
            || model.Compilation.GetTypeByMetadataName(TimerScopeMetadataName) is not { } timerScope
            || root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true).FirstAncestorOrSelf<StatementSyntax>()
                is not ExpressionStatementSyntax statement)
        {
            return;
        }

        var expression = statement.Expression is AssignmentExpressionSyntax { Left: IdentifierNameSyntax { Identifier.ValueText: "_" } } discard
            ? discard.Right
            : statement.Expression;
        var arguments = expression switch
        {
            BaseObjectCreationExpressionSyntax creation => creation.ArgumentList?.Arguments,
            InvocationExpressionSyntax invocation => invocation.ArgumentList.Arguments,
            _ => null,
        };
        if (arguments is not { Count: 4 } args
            || args.Any(a => a.NameColon is not null)
            || !IsNull(args[1].Expression)
            || !args[2].Expression.IsEquivalentTo(args[3].Expression, topLevel: false))
        {
            return;
        }

        var position = statement.SpanStart;
        var period = Period(model, args[3].Expression, position, context.CancellationToken);
        var callback = OwnerCallback(model, args[0].Expression, context.CancellationToken);
        var plan = FieldPlan.TryCreate(
            model,
            statement,
            timerScope,
            "timers",
            SyntaxFactory.ImplicitObjectCreationExpression(),
            context.CancellationToken);
        if (period is null || callback is null || plan is null)
        {
            return;
        }

        var every = SyntaxFactory.InvocationExpression(
            SyntaxFactory.MemberAccessExpression(
                SyntaxKind.SimpleMemberAccessExpression, SyntaxFactory.IdentifierName(plan.FieldName), SyntaxFactory.IdentifierName("Every")),
            SyntaxFactory.ArgumentList(SyntaxFactory.SeparatedList(new[]
            {
                SyntaxFactory.Argument(SyntaxFactory.ThisExpression()),
                SyntaxFactory.Argument(period),
                SyntaxFactory.Argument(callback),
            })));
        var newStatement = SyntaxFactory.ExpressionStatement(every).WithTriviaFrom(statement).WithAdditionalAnnotations(Formatter.Annotation);
        context.RegisterCodeFix(
            CodeAction.Create(
                $"Use TimerScope '{plan.FieldName}'.Every(this, period, static owner => ...)",
                _ => Task.FromResult(context.Document.WithSyntaxRoot(plan.Apply(root, statement, newStatement))),
                nameof(TimerScopeCodeFixProvider)),
            diagnostic);
    }

    private static bool IsNull(ExpressionSyntax expression) =>
        expression.IsKind(SyntaxKind.NullLiteralExpression) || expression.IsKind(SyntaxKind.DefaultLiteralExpression);

    // A TimeSpan period as is; milliseconds (int, long, uint) through TimeSpan.FromMilliseconds.
    private static ExpressionSyntax? Period(SemanticModel model, ExpressionSyntax period, int position, CancellationToken cancellationToken)
    {
        var type = model.GetTypeInfo(period, cancellationToken).Type;
        if (type is { Name: "TimeSpan", ContainingNamespace.Name: "System" })
        {
            return period.WithoutTrivia();
        }

        if (type?.SpecialType is not (SpecialType.System_Int32 or SpecialType.System_Int64 or SpecialType.System_UInt32)
            || model.Compilation.GetTypeByMetadataName("System.TimeSpan") is not { } timeSpan)
        {
            return null;
        }

        return SyntaxFactory.InvocationExpression(
            SyntaxFactory.MemberAccessExpression(
                SyntaxKind.SimpleMemberAccessExpression,
                FieldPlan.TypeName(model, position, timeSpan),
                SyntaxFactory.IdentifierName("FromMilliseconds")),
            SyntaxFactory.ArgumentList(SyntaxFactory.SingletonSeparatedList(SyntaxFactory.Argument(period.WithoutTrivia()))));
    }

    // `_ => body` (parameter unused, nothing but `this` captured) or an instance method group `Tick`:
    // `static owner => body'` / `static owner => owner.Tick(null)`.
    private static SimpleLambdaExpressionSyntax? OwnerCallback(SemanticModel model, ExpressionSyntax callback, CancellationToken cancellationToken)
    {
        var taken = new HashSet<string>(callback.DescendantTokens().Where(t => t.IsKind(SyntaxKind.IdentifierToken)).Select(t => t.ValueText), StringComparer.Ordinal);
        var owner = Names.Unique("owner", taken);
        var ownerParameter = SyntaxFactory.Parameter(SyntaxFactory.Identifier(owner));
        var staticModifier = SyntaxFactory.TokenList(SyntaxFactory.Token(SyntaxKind.StaticKeyword));

        if (callback is SimpleNameSyntax or MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax }
            && model.GetSymbolInfo(callback, cancellationToken).Symbol is IMethodSymbol { IsStatic: false, Parameters.Length: 1 } method)
        {
            var call = SyntaxFactory.InvocationExpression(
                SyntaxFactory.MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, SyntaxFactory.IdentifierName(owner), SyntaxFactory.IdentifierName(method.Name)),
                SyntaxFactory.ArgumentList(SyntaxFactory.SingletonSeparatedList(SyntaxFactory.Argument(SyntaxFactory.LiteralExpression(SyntaxKind.NullLiteralExpression)))));
            return SyntaxFactory.SimpleLambdaExpression(ownerParameter, call).WithModifiers(staticModifier);
        }

        if (callback is not LambdaExpressionSyntax lambda || lambda.AsyncKeyword.IsKind(SyntaxKind.AsyncKeyword))
        {
            return null;
        }

        var parameter = lambda switch
        {
            SimpleLambdaExpressionSyntax simple => simple.Parameter,
            ParenthesizedLambdaExpressionSyntax { ParameterList.Parameters.Count: 1 } parenthesized => parenthesized.ParameterList.Parameters[0],
            _ => null,
        };
        var flow = model.AnalyzeDataFlow(lambda);
        if (parameter is null
            || flow is not { Succeeded: true }
            || flow.CapturedInside.Any(s => s is not IParameterSymbol { IsThis: true })
            || (parameter.Identifier.ValueText != "_" && lambda.Body.DescendantTokens().Any(t => t.ValueText == parameter.Identifier.ValueText)))
        {
            return null;
        }

        if (ThisRewriter.ReplaceThis(model, lambda.Body, owner, cancellationToken) is not CSharpSyntaxNode body)
        {
            return null;
        }

        return SyntaxFactory.SimpleLambdaExpression(ownerParameter, body).WithModifiers(staticModifier);
    }
}
