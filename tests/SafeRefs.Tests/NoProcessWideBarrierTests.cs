using SafeRefs.Tests.Docs;

namespace SafeRefs.Tests;

/// <summary>
/// Pins #17's rule for every shipped project: no process-wide barrier anywhere in the library (it interrupts every core
/// running the process, is serialised host-wide on current Linux, and is unsound on ARM64 when the runtime falls back
/// from membarrier). The biased leases that used one are gone; this keeps such a scheme from coming back.
/// </summary>
public sealed class NoProcessWideBarrierTests
{
    private static readonly string[] Forbidden = ["MemoryBarrierProcessWide", "FlushProcessWriteBuffers", "membarrier"];

    [Fact]
    public void Sources_NeverIssueAProcessWideBarrier()
    {
        var src = Path.Combine(DocSnippetTests.RepositoryRoot(), "src");
        var violations = new List<string>();
        var files = 0;
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(src, file).Replace('\\', '/');
            if (relative.Contains("/obj/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal))
            {
                continue;
            }

            files++;
            var text = File.ReadAllText(file);
            violations.AddRange(Forbidden.Where(word => text.Contains(word, StringComparison.OrdinalIgnoreCase)).Select(word => $"{relative}: {word}"));
        }

        Assert.True(files > 50, $"only {files} source files found under {src}");
        Assert.True(violations.Count == 0, "Process-wide barriers:\n" + string.Join('\n', violations));
    }
}
