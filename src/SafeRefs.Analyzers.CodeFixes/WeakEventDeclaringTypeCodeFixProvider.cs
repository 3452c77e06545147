using System.Collections.Immutable;
using System.Composition;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace SafeRefs.Analyzers.CodeFixes;

/// <summary>
/// Fixes SR1011: adds <c>DeclaringType = typeof(ContainingClass)</c> to the flagged <c>new WeakEventOptions { ... }</c>.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(WeakEventDeclaringTypeCodeFixProvider))]
[Shared]
public sealed class WeakEventDeclaringTypeCodeFixProvider : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.WeakEventWithoutDeclaringType);

    /// <inheritdoc/>
    public override FixAllProvider? GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root?.FindNode(context.Span, getInnermostNodeForTie: true) is not { } node
            || node.FirstAncestorOrSelf<BaseObjectCreationExpressionSyntax>() is not { Initializer: { } initializer } creation
            || creation.FirstAncestorOrSelf<TypeDeclarationSyntax>() is not { } type)
        {
            return;
        }

        var typeName = type.TypeParameterList is { Parameters.Count: > 0 } parameters
            ? type.Identifier.ValueText + "<" + string.Join(", ", parameters.Parameters.Select(static p => p.Identifier.ValueText)) + ">"
            : type.Identifier.ValueText;
        var assignment = SyntaxFactory.AssignmentExpression(
            SyntaxKind.SimpleAssignmentExpression,
            SyntaxFactory.IdentifierName("DeclaringType"),
            SyntaxFactory.TypeOfExpression(SyntaxFactory.ParseTypeName(typeName)));
        var expressions = initializer.Expressions;
        var added = expressions.Add(assignment);
        if (expressions.Count > 0 && expressions.SeparatorCount == expressions.Count)
        {
            // Keep a trailing comma where the initializer had one.
            added = SyntaxFactory.SeparatedList(added, added.GetSeparators().Append(SyntaxFactory.Token(SyntaxKind.CommaToken)));
        }

        var updated = initializer.WithExpressions(added);
        context.RegisterCodeFix(
            CodeAction.Create(
                $"Set DeclaringType = typeof({typeName})",
                _ => Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(initializer, updated.WithAdditionalAnnotations(Microsoft.CodeAnalysis.Formatting.Formatter.Annotation)))),
                nameof(WeakEventDeclaringTypeCodeFixProvider)),
            context.Diagnostics[0]);
    }
}
