using System.Text.RegularExpressions;

namespace SafeRefs.Tests.Diagnostics;

/// <summary>
/// OpenTelemetry's naming rules (semantic conventions, "Naming"), as far as a program can check them: lowercase
/// dot-separated components of letters, digits and single underscores under the <c>saferefs.</c> namespace; singular
/// namespaces; no <c>total</c>; up-down counters and attributes not pluralised. "Plural" is read as "ends in s", with
/// the few singular words that end in s listed.
/// </summary>
internal static partial class MetricNameRules
{
    private static readonly HashSet<string> SingularEndingInS = ["status", "process", "class", "address", "alias", "access", "success", "bus"];

    /// <summary>Why <paramref name="name"/> breaks the rules for an instrument of this kind (empty when it follows them).</summary>
    public static List<string> InstrumentViolations(string name, bool isUpDownCounter)
    {
        var violations = CommonViolations(name);
        if (isUpDownCounter && IsPlural(name[(name.LastIndexOf('.') + 1)..]))
        {
            violations.Add($"{name}: an up-down counter name is not pluralised (use `.count`, `.active`, …)");
        }

        return violations;
    }

    /// <summary>Why the attribute <paramref name="name"/> breaks the rules (empty when it follows them).</summary>
    public static List<string> AttributeViolations(string name)
    {
        var violations = CommonViolations(name);
        if (IsPlural(name[(name.LastIndexOf('.') + 1)..]))
        {
            violations.Add($"{name}: a single-valued attribute is singular");
        }

        return violations;
    }

    /// <summary>The rules every name follows, instrument or attribute.</summary>
    public static List<string> CommonViolations(string name)
    {
        var violations = new List<string>();
        if (!Syntax().IsMatch(name))
        {
            violations.Add($"{name}: not `saferefs.` followed by lowercase dot-separated components (letters, digits, single underscores)");
            return violations;
        }

        var components = name.Split('.');
        foreach (var ns in components[1..^1])
        {
            if (IsPlural(ns))
            {
                violations.Add($"{name}: namespace `{ns}` is plural");
            }
        }

        if (components[^1] == "total" || components[^1].EndsWith("_total", StringComparison.Ordinal))
        {
            violations.Add($"{name}: `total` makes a counter read as a monotonic sum");
        }

        return violations;
    }

    private static bool IsPlural(string component)
    {
        var lastWord = component[(component.LastIndexOf('_') + 1)..];
        return lastWord.EndsWith('s') && !SingularEndingInS.Contains(lastWord);
    }

    [GeneratedRegex(@"^saferefs(\.[a-z][a-z0-9]*(_[a-z0-9]+)*)+$")]
    private static partial Regex Syntax();
}
