using System.Collections.Immutable;
using System.Composition;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace SafeRefs.Analyzers.CodeFixes;

/// <summary>
/// Fixes SR1010 when the accessor lambda reaches the event through the same member as the source argument:
/// <c>(f, h) =&gt; _feed.Changed -= h</c> becomes <c>static (f, h) =&gt; f.Changed -= h</c>.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(WeakEventAccessorCodeFixProvider))]
[Shared]
public sealed class WeakEventAccessorCodeFixProvider : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.CapturingWeakEventAccessor);

    /// <inheritdoc/>
    public override FixAllProvider? GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        if (await FlaggedLambda.FindAsync(context, WeakEventCapturingLambdaAnalyzer.UseSourceParameterProperty).ConfigureAwait(false) is not ({ } root, { } lambda)
            || EventAssignment(lambda.Body) is not { Left: MemberAccessExpressionSyntax eventAccess } assignment)
        {
            return;
        }

        var source = SyntaxFactory.IdentifierName(lambda.ParameterList.Parameters[0].Identifier.WithoutTrivia());
        var rewritten = lambda
            .ReplaceNode(assignment, assignment.WithLeft(eventAccess.WithExpression(source.WithTriviaFrom(eventAccess.Expression))))
            .WithModifiers(SyntaxFactory.TokenList(SyntaxFactory.Token(SyntaxKind.StaticKeyword).WithTrailingTrivia(SyntaxFactory.Space)))
            .WithLeadingTrivia(lambda.GetLeadingTrivia());
        context.RegisterCodeFix(
            CodeAction.Create(
                "Use the source parameter in a static lambda",
                _ => Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(lambda, rewritten))),
                nameof(WeakEventAccessorCodeFixProvider)),
            context.Diagnostics[0]);
    }

    private static AssignmentExpressionSyntax? EventAssignment(CSharpSyntaxNode body) => body switch
    {
        AssignmentExpressionSyntax expression => expression,
        BlockSyntax { Statements.Count: 1 } block when block.Statements[0] is ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax statement } => statement,
        _ => null,
    };
}
