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
/// Fixes SR1002 when the lambda captures only <c>this</c>: <c>weak.Add((s, e) => Handle(e))</c> becomes
/// <c>weak.Subscribe(this, static (owner, s, e) => owner.Handle(e))</c>.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(WeakEventSubscribeCodeFixProvider))]
[Shared]
public sealed class WeakEventSubscribeCodeFixProvider : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.CapturingLambdaToWeakEvent);

    /// <inheritdoc/>
    public override FixAllProvider? GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        if (await FlaggedLambda.FindAsync(context, WeakEventCapturingLambdaAnalyzer.CapturesOnlyThisProperty).ConfigureAwait(false) is not ({ } root, { } lambda)
            || lambda.Parent is not ArgumentSyntax { Parent: ArgumentListSyntax { Arguments.Count: 1, Parent: InvocationExpressionSyntax invocation } }
            || invocation.Expression is not MemberAccessExpressionSyntax memberAccess
            || await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false) is not { } model)
        {
            return;
        }

        var rewritten = Rewrite(model, lambda, context.CancellationToken);
        if (rewritten is null)
        {
            return;
        }

        var replacement = invocation
            .WithExpression(memberAccess.WithName(SyntaxFactory.IdentifierName("Subscribe").WithTriviaFrom(memberAccess.Name)))
            .WithArgumentList(SyntaxFactory.ArgumentList(SyntaxFactory.SeparatedList(new[]
            {
                SyntaxFactory.Argument(SyntaxFactory.ThisExpression()),
                SyntaxFactory.Argument(rewritten),
            })))
            .WithAdditionalAnnotations(Formatter.Annotation);
        context.RegisterCodeFix(
            CodeAction.Create(
                "Use Subscribe(this, static (owner, sender, e) => ...)",
                _ => Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(invocation, replacement))),
                nameof(WeakEventSubscribeCodeFixProvider)),
            context.Diagnostics[0]);
    }

    private static ParenthesizedLambdaExpressionSyntax? Rewrite(SemanticModel model, ParenthesizedLambdaExpressionSyntax lambda, CancellationToken cancellationToken)
    {
        var taken = new HashSet<string>(lambda.DescendantTokens().Where(t => t.IsKind(SyntaxKind.IdentifierToken)).Select(t => t.ValueText), StringComparer.Ordinal);
        var owner = Names.Unique("owner", taken);
        if (ThisRewriter.ReplaceThis(model, lambda.Body, owner, cancellationToken) is not CSharpSyntaxNode body)
        {
            return null;
        }

        var parameters = new List<ParameterSyntax> { SyntaxFactory.Parameter(SyntaxFactory.Identifier(owner)) };
        parameters.AddRange(lambda.ParameterList.Parameters.Select(p => SyntaxFactory.Parameter(p.Identifier.WithoutTrivia())));
        var modifiers = SyntaxFactory.TokenList(SyntaxFactory.Token(SyntaxKind.StaticKeyword).WithTrailingTrivia(SyntaxFactory.Space));
        if (lambda.AsyncKeyword.IsKind(SyntaxKind.AsyncKeyword))
        {
            modifiers = modifiers.Add(SyntaxFactory.Token(SyntaxKind.AsyncKeyword).WithTrailingTrivia(SyntaxFactory.Space));
        }

        return SyntaxFactory.ParenthesizedLambdaExpression(SyntaxFactory.ParameterList(SyntaxFactory.SeparatedList(parameters)), body)
            .WithModifiers(modifiers)
            .WithArrowToken(lambda.ArrowToken)
            .WithTriviaFrom(lambda);
    }
}
