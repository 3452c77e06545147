using System.Text;
using System.Text.RegularExpressions;

namespace SafeRefs.Tests.Docs;

/// <summary>
/// Every C# block in README.md and docs/**/*.md must be identical to a <c>#region docs-…</c> in a test source file,
/// where it is compiled and run, so that documentation examples cannot rot.
/// </summary>
public sealed partial class DocSnippetTests
{
    [Fact]
    public void MarkdownCSharpBlocks_EachMatchesACompiledRegion()
    {
        var root = RepositoryRoot();
        var regions = CollectRegions(root);
        var missing = new List<string>();
        var blocks = 0;

        foreach (var file in MarkdownFiles(root))
        {
            foreach (var (line, code) in CSharpBlocks(File.ReadAllText(file)))
            {
                blocks++;
                if (!regions.Contains(Normalize(code)))
                {
                    missing.Add($"{Path.GetRelativePath(root, file)}:{line}");
                }
            }
        }

        Assert.True(blocks > 0, "No C# blocks were found in the documentation; the scan is broken.");
        Assert.True(missing.Count == 0, "C# blocks with no identical #region docs-… in tests/ (copy the block into a test region): " + string.Join(", ", missing));
    }

    [Fact]
    public void Normalize_IndentedRegionAndFlushBlock_AreEqual()
    {
        const string region = "        var x = 1;\n\n        if (x > 0)\n        {\n            x++;\n        }\n";
        const string block = "var x = 1;\n\nif (x > 0)\n{\n    x++;\n}";

        Assert.Equal(Normalize(block), Normalize(region));
        Assert.NotEqual(Normalize(block), Normalize(region.Replace("x++", "x--", StringComparison.Ordinal)));
    }

    [Fact]
    public void CSharpBlocks_MixedFences_FindsOnlyCSharp()
    {
        const string markdown = "text\n```csharp\nvar a = 1;\n```\n```sh\ndotnet test\n```\n```cs\nvar b = 2;\n```\n";

        var blocks = CSharpBlocks(markdown).Select(b => b.Code.Trim()).ToArray();

        Assert.Equal(["var a = 1;", "var b = 2;"], blocks);
    }

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SafeRefs.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("SafeRefs.sln not found above " + AppContext.BaseDirectory);
    }

    private static IEnumerable<string> MarkdownFiles(string root)
    {
        yield return Path.Combine(root, "README.md");
        var docs = Path.Combine(root, "docs");
        if (Directory.Exists(docs))
        {
            foreach (var file in Directory.EnumerateFiles(docs, "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                yield return file;
            }
        }
    }

    private static IEnumerable<(int Line, string Code)> CSharpBlocks(string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = lines[i].Trim();
            if (fence is "```csharp" or "```cs" or "```c#" or "```C#")
            {
                var start = i + 1;
                var code = new StringBuilder();
                for (i = start; i < lines.Length && lines[i].Trim() != "```"; i++)
                {
                    code.Append(lines[i]).Append('\n');
                }

                yield return (start, code.ToString());
            }
        }
    }

    private static HashSet<string> CollectRegions(string root)
    {
        var regions = new HashSet<string>(StringComparer.Ordinal);
        var tests = Path.Combine(root, "tests");
        foreach (var file in Directory.EnumerateFiles(tests, "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains("/obj/", StringComparison.Ordinal) || file.Contains("/bin/", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (Match match in RegionPattern().Matches(File.ReadAllText(file).Replace("\r\n", "\n", StringComparison.Ordinal)))
            {
                regions.Add(Normalize(match.Groups["body"].Value));
            }
        }

        return regions;
    }

    /// <summary>Removes the common indentation and surrounding blank lines, and trailing spaces on each line.</summary>
    internal static string Normalize(string code)
    {
        var lines = code.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').Select(l => l.TrimEnd()).ToList();
        while (lines.Count > 0 && lines[0].Length == 0)
        {
            lines.RemoveAt(0);
        }

        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        var indent = lines.Where(l => l.Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : l));
    }

    [GeneratedRegex(@"^[ \t]*#region docs-[^\n]*\n(?<body>.*?)^[ \t]*#endregion", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex RegionPattern();
}
