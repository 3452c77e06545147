using System.Text.RegularExpressions;
using SafeRefs.Tests.Docs;

namespace SafeRefs.Tests.Diagnostics;

/// <summary>
/// The "Log events" table of docs/diagnostics.md lists exactly the <c>[LoggerMessage]</c> events the library declares,
/// each with its id, name and level, so that an event a user may filter on cannot go undocumented.
/// </summary>
public sealed partial class LogEventTableTests
{
    [Fact]
    public void Table_ListsEveryDeclaredEvent_WithItsNameAndLevel()
    {
        var declared = DeclaredEvents();
        var documented = DocumentedEvents();

        Assert.NotEmpty(declared);
        Assert.Empty(declared.Except(documented).Order());
        Assert.Empty(documented.Except(declared).Order());
    }

    private static HashSet<string> DeclaredEvents() =>
        Directory.EnumerateFiles(Path.Combine(DocSnippetTests.RepositoryRoot(), "src", "SafeRefs"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => Declaration().Matches(File.ReadAllText(f)))
            .Select(m => Describe(m.Groups["args"].Value, m.Groups["method"].Value))
            .ToHashSet(StringComparer.Ordinal);

    // "id name level" of one declaration: the event's name is its EventName, else the method's name (the generator's rule).
    private static string Describe(string arguments, string method)
    {
        var id = EventId().Match(arguments);
        var level = Level().Match(arguments);
        var name = EventName().Match(arguments);
        Assert.True(id.Success && level.Success, $"[LoggerMessage] of {method} names no EventId or Level.");
        return $"{id.Groups[1].Value} {(name.Success ? name.Groups[1].Value : method)} {level.Groups[1].Value}";
    }

    private static HashSet<string> DocumentedEvents()
    {
        var text = File.ReadAllText(Path.Combine(DocSnippetTests.RepositoryRoot(), "docs", "diagnostics.md"));
        const string heading = "### Log events\n";
        var start = text.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/diagnostics.md has no \"### Log events\" section.");
        var end = text.IndexOf("\n### ", start + heading.Length, StringComparison.Ordinal);
        return (end < 0 ? text[start..] : text[start..end]).Split('\n')
            .Select(line => TableRow().Match(line))
            .Where(m => m.Success)
            .Select(m => $"{m.Groups["id"].Value} {m.Groups["name"].Value} {m.Groups["level"].Value}")
            .ToHashSet(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"\[LoggerMessage\((?<args>.*?)\)\]\s*\w+ static partial void (?<method>\w+)\(", RegexOptions.Singleline)]
    private static partial Regex Declaration();

    [GeneratedRegex(@"EventId = (\d+)")]
    private static partial Regex EventId();

    [GeneratedRegex(@"Level = LogLevel\.(\w+)")]
    private static partial Regex Level();

    [GeneratedRegex("EventName = \"(\\w+)\"")]
    private static partial Regex EventName();

    [GeneratedRegex(@"^\| (?<id>\d+) \| `(?<name>\w+)` \| (?<level>\w+) \|")]
    private static partial Regex TableRow();
}
