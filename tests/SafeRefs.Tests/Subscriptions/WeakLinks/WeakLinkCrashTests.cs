using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions.WeakLinks;

public sealed class WeakLinkCrashTests
{
    [Fact]
    public void BackgroundPurge_RemoveThrows_ProcessSurvivesAndLogs()
    {
        var (exitCode, output) = ChildProcess.Run("weak-link-throwing-remove-background-purge", TimeSpan.FromSeconds(90));
        Assert.True(exitCode == 0, $"the child ended with {exitCode}: {output}");
        Assert.Contains("remove calls 1", output, StringComparison.Ordinal);
        Assert.Contains("event 1010 ObjectDisposedException", output, StringComparison.Ordinal);
        Assert.Contains("survived", output, StringComparison.Ordinal);
    }
}
