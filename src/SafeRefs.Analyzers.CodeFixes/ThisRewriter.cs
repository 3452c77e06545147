using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace SafeRefs.Analyzers.CodeFixes;

/// <summary>Rewrites code that uses <c>this</c> (explicitly or implicitly) to use an owner parameter instead.</summary>
internal static class ThisRewriter
{
    /// <summary>
    /// Returns <paramref name="body"/> with <c>this</c> and implicit instance-member access replaced by
    /// <paramref name="owner"/>, or <see langword="null"/> if it uses <c>base</c>.
    /// </summary>
    public static SyntaxNode? ReplaceThis(SemanticModel model, SyntaxNode body, string owner, CancellationToken cancellationToken)
    {
        var containingType = model.GetEnclosingSymbol(body.SpanStart, cancellationToken)?.ContainingType;
        if (containingType is null)
        {
            return null;
        }

        var replacements = new Dictionary<SyntaxNode, SyntaxNode>();
        foreach (var node in body.DescendantNodesAndSelf())
        {
            switch (node)
            {
                case BaseExpressionSyntax:
                    return null;
                case ThisExpressionSyntax:
                    replacements[node] = SyntaxFactory.IdentifierName(owner).WithTriviaFrom(node);
                    break;
                case SimpleNameSyntax name when IsImplicitThisMember(model, name, containingType, cancellationToken):
                    replacements[node] = SyntaxFactory.MemberAccessExpression(
                            SyntaxKind.SimpleMemberAccessExpression, SyntaxFactory.IdentifierName(owner), name.WithoutTrivia())
                        .WithTriviaFrom(name);
                    break;
            }
        }

        return body.ReplaceNodes(replacements.Keys, (original, _) => replacements[original]);
    }

    // `Handle(e)` or `_count` inside the lambda: an instance member of the containing type reached without a receiver.
    private static bool IsImplicitThisMember(SemanticModel model, SimpleNameSyntax name, INamedTypeSymbol containingType, CancellationToken cancellationToken)
    {
        switch (name.Parent)
        {
            case MemberAccessExpressionSyntax access when access.Name == name:
            case MemberBindingExpressionSyntax:
            case QualifiedNameSyntax:
            case NameColonSyntax:
            case AssignmentExpressionSyntax { Parent: InitializerExpressionSyntax } assignment when assignment.Left == name:
                return false;
        }

        var symbol = model.GetSymbolInfo(name, cancellationToken).Symbol;
        if (symbol is null || symbol.IsStatic || symbol.Kind is not (SymbolKind.Field or SymbolKind.Property or SymbolKind.Method or SymbolKind.Event))
        {
            return false;
        }

        if (symbol is IMethodSymbol { MethodKind: MethodKind.LocalFunction })
        {
            return false;
        }

        for (var type = containingType; type is not null; type = type.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(type, symbol.ContainingType.OriginalDefinition)
                || SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, symbol.ContainingType.OriginalDefinition))
            {
                return true;
            }
        }

        return false;
    }
}
