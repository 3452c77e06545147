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
/// Fixes SR1003 (undisposed timer), SR1005 (discarded <c>CancellationToken.Register</c>) and SR1006 (discarded
/// change-token registration) in two ways: <c>using var</c> (disposed at the end of the scope), or a field that the
/// type's <c>Dispose</c> disposes (added, with <see cref="IDisposable"/>, when the type has none).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(DisposableResultCodeFixProvider))]
[Shared]
public sealed class DisposableResultCodeFixProvider : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(
        DiagnosticIds.UndisposedTimer, DiagnosticIds.DiscardedCancellationRegistration, DiagnosticIds.DiscardedChangeRegistration);

    /// <inheritdoc/>
    public override FixAllProvider? GetFixAllProvider() => null;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null || model is null)
        {
            return;
        }

        var diagnostic = context.Diagnostics[0];
        var statement = root.FindNode(diagnostic.Location.SourceSpan, findInsideTrivia: false, getInnermostNodeForTie: true)
            .FirstAncestorOrSelf<StatementSyntax>();
        var baseName = diagnostic.Id switch
        {
            DiagnosticIds.UndisposedTimer => "timer",
            DiagnosticIds.DiscardedCancellationRegistration => "registration",
            _ => "changeRegistration",
        };

        ExpressionSyntax? value;
        switch (statement)
        {
            case ExpressionStatementSyntax expressionStatement:
                value = expressionStatement.Expression is AssignmentExpressionSyntax { Left: IdentifierNameSyntax { Identifier.ValueText: "_" } } discard
                    ? discard.Right
                    : expressionStatement.Expression;
                break;
            case LocalDeclarationStatementSyntax { Declaration.Variables.Count: 1 } declaration
                when declaration.UsingKeyword.IsKind(SyntaxKind.None):
                value = declaration.Declaration.Variables[0].Initializer?.Value;
                break;
            default:
                return;
        }

        if (value is null)
        {
            return;
        }

        if (statement.Parent is BlockSyntax or GlobalStatementSyntax)
        {
            context.RegisterCodeFix(
                CodeAction.Create(
                    "Dispose at the end of the scope ('using var')",
                    ct => UseUsingAsync(context.Document, root, model, statement, value, baseName, ct),
                    nameof(UseUsingAsync)),
                diagnostic);
        }

        if (model.GetTypeInfo(value, context.CancellationToken).Type is { TypeKind: not TypeKind.Error } valueType
            && FieldPlan.TryCreate(model, statement, valueType, baseName, initializer: null, context.CancellationToken) is { } plan)
        {
            var field = SyntaxFactory.IdentifierName(plan.FieldName);
            var assignment = SyntaxFactory.AssignmentExpression(SyntaxKind.SimpleAssignmentExpression, field, value.WithoutTrivia());
            StatementSyntax newStatement = statement is LocalDeclarationStatementSyntax declaration
                ? declaration.ReplaceNode(value, assignment.WithTriviaFrom(value))
                : SyntaxFactory.ExpressionStatement(assignment).WithTriviaFrom(statement);
            context.RegisterCodeFix(
                CodeAction.Create(
                    $"Keep it in field '{plan.FieldName}' and dispose it in Dispose()",
                    _ => Task.FromResult(context.Document.WithSyntaxRoot(plan.Apply(root, statement, newStatement))),
                    nameof(FieldPlan)),
                diagnostic);
        }
    }

    private static Task<Document> UseUsingAsync(
        Document document, SyntaxNode root, SemanticModel model, StatementSyntax statement, ExpressionSyntax value, string baseName,
        CancellationToken cancellationToken)
    {
        _ = cancellationToken;
        LocalDeclarationStatementSyntax replacement;
        if (statement is LocalDeclarationStatementSyntax declaration)
        {
            replacement = declaration
                .WithUsingKeyword(SyntaxFactory.Token(SyntaxKind.UsingKeyword).WithLeadingTrivia(declaration.GetLeadingTrivia()))
                .WithDeclaration(declaration.Declaration.WithLeadingTrivia(SyntaxFactory.Space));
        }
        else
        {
            var name = Names.UniqueLocal(model, statement, baseName);
            replacement = SyntaxFactory.LocalDeclarationStatement(
                    SyntaxFactory.VariableDeclaration(
                        SyntaxFactory.IdentifierName("var"),
                        SyntaxFactory.SingletonSeparatedList(
                            SyntaxFactory.VariableDeclarator(name).WithInitializer(SyntaxFactory.EqualsValueClause(value.WithoutTrivia())))))
                .WithUsingKeyword(SyntaxFactory.Token(SyntaxKind.UsingKeyword))
                .WithTriviaFrom(statement)
                .WithAdditionalAnnotations(Formatter.Annotation);
        }

        return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(statement, replacement)));
    }
}
