using System.Text.RegularExpressions;
using SafeRefs.Tests.Docs;

namespace SafeRefs.Tests;

/// <summary>
/// Pins the layering of <c>src/SafeRefs</c>: which feature may use which, and that a feature's <c>Internal</c>
/// namespace is its own. A new back-edge (say, <c>Caching</c> reaching into <c>Subscriptions</c>, or shared
/// <c>Internal</c> code depending on a feature) fails here with the file and the namespace it names.
/// </summary>
/// <remarks>
/// Source-based on purpose: every type of the library lives in a feature namespace (<c>SafeRefs.&lt;Feature&gt;</c> or
/// <c>SafeRefs.&lt;Feature&gt;.Internal</c>) and no global using names one, so a file can only use another feature
/// through a <c>using</c> directive or a qualified name, both of which this test reads. Comments and string literals
/// are ignored: a <c>cref</c> or an instrument's description is prose, not a dependency.
/// </remarks>
public sealed partial class LayeringTests
{
    /// <summary>
    /// The features each feature may use. Shared <c>Internal</c> code and telemetry (<c>Diagnostics</c>) form the
    /// bottom layer that every feature may use; they may use each other but no feature. Anything not listed is a
    /// back-edge.
    /// </summary>
    private static readonly Dictionary<string, string[]> Allowed = new(StringComparer.Ordinal)
    {
        ["Diagnostics"] = ["Internal"],
        ["Internal"] = ["Diagnostics"],
        ["Subscriptions"] = ["Internal", "Diagnostics"],
        ["Timers"] = ["Internal", "Diagnostics"],
        ["Caching"] = ["Internal", "Diagnostics"],
        ["Events"] = ["Subscriptions", "Internal", "Diagnostics"],
        ["Pooling"] = ["Events", "Subscriptions", "Timers", "Internal", "Diagnostics"],
    };

    [Fact]
    public void Features_UseOnlyTheFeaturesBelowThem_AndOnlyTheirOwnInternals()
    {
        var src = Path.Combine(DocSnippetTests.RepositoryRoot(), "src", "SafeRefs");
        var violations = new List<string>();
        var files = 0;

        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(src, file).Replace('\\', '/');
            if (relative.StartsWith("obj/", StringComparison.Ordinal) || relative.StartsWith("bin/", StringComparison.Ordinal))
            {
                continue;
            }

            files++;
            var feature = relative.Split('/')[0];
            if (!Allowed.TryGetValue(feature, out var allowed))
            {
                violations.Add($"{relative}: '{feature}' is not a known feature folder (add it to {nameof(Allowed)})");
                continue;
            }

            violations.AddRange(Check(relative, feature, allowed, File.ReadAllText(file)));
        }

        Assert.True(files > 50, $"only {files} source files found under {src}");
        Assert.True(violations.Count == 0, "Layering violations:\n" + string.Join('\n', violations));
    }

    [Fact]
    public void Check_ReportsBackEdgesAndForeignInternals_NotComments()
    {
        // Control twin: the checker really sees each form a dependency can take, and ignores documentation.
        const string Code = """
            using SafeRefs.Subscriptions;
            using static SafeRefs.Timers.Internal.TimerGuard;
            /// <see cref="SafeRefs.Pooling.PoolLease{T}"/>
            /* SafeRefs.Events */
            internal sealed class X { SafeRefs.Diagnostics.Internal.Log? _log; string _s = "SafeRefs.Events \" SafeRefs.Events"; }
            """;

        var violations = Check("Caching/X.cs", "Caching", Allowed["Caching"], Code).ToArray();

        Assert.Equal(
            ["Caching/X.cs: Caching uses SafeRefs.Subscriptions (back-edge)", "Caching/X.cs: Caching uses SafeRefs.Timers (back-edge)"],
            violations);
        Assert.Equal(
            ["Events/X.cs: Events uses SafeRefs.Subscriptions.Internal (not its own)"],
            Check("Events/X.cs", "Events", Allowed["Events"], "using SafeRefs.Subscriptions.Internal;"));
    }

    private static IEnumerable<string> Check(string relative, string feature, string[] allowed, string code)
    {
        // Strings first (one may hold "//"), then comments; neither spans lines in this code base except block comments.
        code = LineComment().Replace(BlockComment().Replace(StringLiteral().Replace(code, "\"\""), " "), " ");
        var used = FeatureReference().Matches(code).Select(m => (Feature: m.Groups[1].Value, Internal: m.Groups[2].Success)).Distinct();
        foreach (var (usedFeature, isInternal) in used)
        {
            if (usedFeature == feature)
            {
                continue;
            }

            if (!allowed.Contains(usedFeature, StringComparer.Ordinal))
            {
                yield return $"{relative}: {feature} uses SafeRefs.{usedFeature} (back-edge)";
            }
            else if (isInternal && usedFeature != "Diagnostics")
            {
                // Telemetry internals (log messages, instruments) are the one Internal every feature shares.
                yield return $"{relative}: {feature} uses SafeRefs.{usedFeature}.Internal (not its own)";
            }
        }
    }

    [GeneratedRegex(@"\bSafeRefs\.(\w+)(\.Internal\b)?")]
    private static partial Regex FeatureReference();

    // Instrument descriptions and log messages name features in prose.
    [GeneratedRegex(@"""(?:[^""\\\n]|\\.)*""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex BlockComment();
}
