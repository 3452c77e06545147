using SafeRefs.Events;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events.Internal;

/// <summary>
/// The debug poison check of the <c>Add</c> fast path: a raise reads an <c>Add</c> handler's weak handle from its
/// snapshot copy, which cannot see the free, so debug builds check the entry on every read. Provoked in a child
/// process (the check fails the process): the entry's handles are freed while it is still in the snapshot, which the
/// handler list never does.
/// </summary>
public sealed class SnapshotItemPoisonTests
{
#if DEBUG
    [Fact]
#else
    [Fact(Skip = "The poison check exists in debug builds only.")]
#endif
    public void Raise_AddHandlerFreedWhileInTheSnapshot_FailsTheDebugCheck()
    {
        var (exitCode, output) = ChildProcess.Run("weak-event-add-fast-path-reads-freed-handle", TimeSpan.FromSeconds(90));
        Assert.True(exitCode != 0, $"the child survived: {output}");
        Assert.Contains("freed", output, StringComparison.Ordinal);
        Assert.Contains("a raise read the weak handle of a freed Add handler", output, StringComparison.Ordinal);
        Assert.DoesNotContain("raised", output, StringComparison.Ordinal);
    }

    // Control twin: the same raise without the free passes the check.
    [Fact]
    public void Raise_Control_AddHandlerNotFreed_PassesTheCheck()
    {
        var (exitCode, output) = ChildProcess.Run("weak-event-add-fast-path-live-handle", TimeSpan.FromSeconds(90));
        Assert.True(exitCode == 0, $"the child ended with {exitCode}: {output}");
        Assert.Contains("raised 1", output, StringComparison.Ordinal);
    }

    /// <summary>Child scenario: frees an <c>Add</c> handler's handles behind the list's back, then raises.</summary>
    internal static int ReadFreedHandle() => RaiseOnce(free: true);

    /// <summary>Child scenario: the control, without the free.</summary>
    internal static int ReadLiveHandle() => RaiseOnce(free: false);

    private static int RaiseOnce(bool free)
    {
        var source = new WeakEvent<int>();
        var target = new Target();
        source.Add(target.On);
        if (free)
        {
            source.Handlers.Snapshot[0].Entry.Release();
            Console.WriteLine("freed");
        }

        source.Raise(null, 1);
        Console.WriteLine($"raised {target.Calls}");
        GC.KeepAlive(target);
        return 0;
    }

    private sealed class Target
    {
        public int Calls { get; private set; }

        public void On(object? sender, int e) => Calls++;
    }
}
