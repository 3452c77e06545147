using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace SafeRefs.Analyzers.Internal;

/// <summary>
/// Reads a rule's mode from .editorconfig (<c>saferefs.SR1004.mode = strict</c>). By default a rule stays quiet where
/// it must guess whether something is bounded; <c>strict</c> reports those guesses too.
/// </summary>
internal static class RuleMode
{
    /// <summary>Whether <paramref name="ruleId"/> runs in strict mode for <paramref name="tree"/> (or globally).</summary>
    public static bool IsStrict(AnalyzerOptions options, SyntaxTree tree, string ruleId)
    {
        // .editorconfig keys are case-insensitive; Roslyn hands them over in lower case.
        var key = "saferefs." + ruleId.ToLowerInvariant() + ".mode";
        var provider = options.AnalyzerConfigOptionsProvider;
        return (provider.GetOptions(tree).TryGetValue(key, out var value) || provider.GlobalOptions.TryGetValue(key, out value))
            && string.Equals(value.Trim(), "strict", StringComparison.OrdinalIgnoreCase);
    }
}
