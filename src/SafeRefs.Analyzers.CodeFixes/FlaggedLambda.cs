using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace SafeRefs.Analyzers.CodeFixes;

/// <summary>Locates the lambda that a <see cref="WeakEventCapturingLambdaAnalyzer"/> diagnostic (SR1002, SR1010) points at.</summary>
internal static class FlaggedLambda
{
    /// <summary>
    /// Gets the document's root and the flagged <c>(a, b) =&gt; ...</c> lambda, or <see langword="null"/> when the first
    /// diagnostic lacks <paramref name="requiredProperty"/> (the analyzer found no safe rewrite) or points at anything else.
    /// </summary>
    public static async Task<(SyntaxNode Root, ParenthesizedLambdaExpressionSyntax Lambda)?> FindAsync(CodeFixContext context, string requiredProperty)
    {
        var diagnostic = context.Diagnostics[0];
        if (!diagnostic.Properties.ContainsKey(requiredProperty))
        {
            return null;
        }

        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        return root?.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true) is ParenthesizedLambdaExpressionSyntax { ParameterList.Parameters.Count: 2 } lambda
            ? (root, lambda)
            : null;
    }
}
