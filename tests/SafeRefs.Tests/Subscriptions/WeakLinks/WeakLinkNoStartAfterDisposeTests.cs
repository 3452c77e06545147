// WeakLink.EnterHook, which every test here sets, exists only in Debug builds (it would cost every raise a static
// load): these tests compile and run in the Debug run of the suite, which CI runs too.
#if DEBUG
using SafeRefs.Subscriptions.WeakLinks;

namespace SafeRefs.Tests.Subscriptions.WeakLinks;

/// <summary>
/// "After <c>Dispose</c> returns, no invocation of the handler starts" for the weak links, deterministically, in the one
/// window only their closed gate guards: the source's raise has read its delegate (the link's forwarder) and the link has
/// not yet entered its gate. <see cref="WeakLink.EnterHook"/> runs <c>Dispose</c> there, on the raising thread itself, so
/// no second thread is needed. The hook is process-wide and filters on its link; only this class sets it.
/// </summary>
public sealed class WeakLinkNoStartAfterDisposeTests
{
    [Fact]
    public void DisposeBetweenReadAndGate_HandlerNeverStarts_HandlesFreed()
    {
        var source = new Source();
        var owner = new Owner(source);
        var link = Subscribe(source, owner);
        WithHook(link, entered => !entered, link.Dispose, source.Raise);

        Assert.Equal(0, owner.Calls);
        AssertDetachedAndFreed(link);
        GC.KeepAlive(owner);
    }

    // Control twin: the same Dispose once the raise was admitted returns without waiting, the handler runs, and the
    // handles are freed by the end of that invocation, not by Dispose.
    [Fact]
    public void DisposeAfterEnter_Control_HandlerRuns_ItsEndFreesTheHandles()
    {
        var source = new Source();
        var owner = new Owner(source);
        var link = Subscribe(source, owner);
        var freedAtDispose = true;
        WithHook(link, entered => entered, () => { link.Dispose(); freedAtDispose = link.IsFreed; }, source.Raise);

        Assert.Equal(1, owner.Calls);
        Assert.False(freedAtDispose);
        AssertDetachedAndFreed(link);
        GC.KeepAlive(owner);
    }

    // With an invocation running, Dispose cannot free the handles (the running one frees them when it returns), so a
    // raise that slipped past a missing closed check would find them readable and start the handler again: here a
    // nested raise from inside the handler, held between its read and the gate while Dispose runs.
    [Fact]
    public void DisposeBetweenReadAndGate_WhileAnInvocationRuns_HandlerDoesNotStartAgain()
    {
        var source = new Source();
        var owner = new Owner(source) { RaiseAgainOnce = true };
        var link = Subscribe(source, owner);
        var beforeGate = 0;
        WithHook(link, entered => !entered && ++beforeGate == 2, link.Dispose, source.Raise);

        Assert.Equal(2, beforeGate);
        Assert.Equal(1, owner.Calls);
        AssertDetachedAndFreed(link);
        GC.KeepAlive(owner);
    }

    private static WeakLink Subscribe(Source source, Owner owner) => (WeakLink)SafeRefs.Subscriptions.Subscribe.WeakEvent<Source, Owner, int>(
        source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, owner, static (o, _, _) => o.OnChanged());

    // A gen-2 purge (another test's collection) may be checking the link when it is closed; then its exit frees.
    private static void AssertDetachedAndFreed(WeakLink link)
    {
        Assert.True(link.IsDetached);
        Assert.True(SpinWait.SpinUntil(() => link.IsFreed && link.RunningCount == 0, TimeSpan.FromSeconds(30)));
    }

    /// <summary>Raises with the hook set: at the hook calls of <paramref name="link"/> where <paramref name="when"/> says so, runs <paramref name="atHook"/>.</summary>
    private static void WithHook(WeakLink link, Func<bool, bool> when, Action atHook, Action raise)
    {
        WeakLink.EnterHook = (l, entered) =>
        {
            if (ReferenceEquals(l, link) && when(entered))
            {
                atHook();
            }
        };
        try
        {
            raise();
        }
        finally
        {
            WeakLink.EnterHook = null;
            link.Dispose();
        }
    }

    private sealed class Source
    {
        public event EventHandler<int>? Changed;

        public void Raise() => Changed?.Invoke(this, 1);
    }

    private sealed class Owner(Source source)
    {
        public int Calls { get; private set; }

        public bool RaiseAgainOnce { get; set; }

        public void OnChanged()
        {
            Calls++;
            if (RaiseAgainOnce)
            {
                RaiseAgainOnce = false;
                source.Raise();
            }
        }
    }
}
#endif
