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

    [Fact]
    public void SubscribingThreadPurge_RemoveThrows_ProcessSurvivesLogsAndTheLinkLeavesTheRegistry()
    {
        var (exitCode, output) = ChildProcess.Run("weak-link-throwing-remove-subscribing-thread-purge", TimeSpan.FromSeconds(90));
        Assert.True(exitCode == 0, $"the child ended with {exitCode}: {output}");
        Assert.Contains("owner collected True", output, StringComparison.Ordinal);
        Assert.Contains("detached True", output, StringComparison.Ordinal);
        Assert.Contains("freed True", output, StringComparison.Ordinal);
        Assert.Contains("registry index -1", output, StringComparison.Ordinal);
        Assert.Contains("remove calls 1", output, StringComparison.Ordinal);
        Assert.Contains("remove on the subscribing thread True", output, StringComparison.Ordinal);
        Assert.Contains("event 1010 ObjectDisposedException", output, StringComparison.Ordinal);
        Assert.Contains("survived", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Dispose_RemoveThrows_CallerGetsIt_ProcessSurvivesAndTheLinkLeavesTheRegistry()
    {
        var (exitCode, output) = ChildProcess.Run("weak-link-throwing-remove-dispose", TimeSpan.FromSeconds(90));
        Assert.True(exitCode == 0, $"the child ended with {exitCode}: {output}");
        Assert.Contains("dispose threw ObjectDisposedException", output, StringComparison.Ordinal);
        Assert.Contains("detached True", output, StringComparison.Ordinal);
        Assert.Contains("freed True", output, StringComparison.Ordinal);
        Assert.Contains("registry index -1", output, StringComparison.Ordinal);
        Assert.Contains("second dispose returned", output, StringComparison.Ordinal);
        Assert.Contains("handler calls 0", output, StringComparison.Ordinal);
        Assert.Contains("event 1010 ObjectDisposedException", output, StringComparison.Ordinal);
        Assert.Contains("survived", output, StringComparison.Ordinal);
    }
}
