using System.Runtime.CompilerServices;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Docs;

/// <summary>The examples of README.md and docs/testing.md, compiled and run.</summary>
[Collection(GcCollection.Name)]
public sealed class TestingDocs
{
    [Fact]
    public void Readme_GcAssertQuickStart_Runs()
    {
        var longLivedSource = new Source();

        #region docs-readme-gcassert
        var tracked = GcAssert.Track(() => new Listener(longLivedSource));
        GcAssert.Collected(tracked);          // throws ObjectNotCollectedException if still alive
        GC.KeepAlive(longLivedSource);
        #endregion
    }

    [Fact]
    public void Testing_ControlTwin_Runs()
    {
        #region docs-testing-control
        var source = new Source();
        var listener = GcAssert.Track(() => new Listener(source, subscribe: true));

        // The control: a listener still subscribed must be reported alive, or the check proves nothing.
        GcAssert.NotCollected(listener);
        Assert.Throws<ObjectNotCollectedException>(() => GcAssert.Collected(listener));
        GC.KeepAlive(source);
        #endregion
    }

    [Fact]
    public void Testing_LeakTracker_Runs()
    {
        var source = new Source();
        #region docs-testing-leaktracker
        var tracker = new LeakTracker();
        CreateListeners(tracker, source, count: 3);

        tracker.AssertAllCollected();   // names every survivor when it fails
        GC.KeepAlive(source);
        #endregion
    }

    #region docs-testing-helper
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CreateListeners(LeakTracker tracker, Source source, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var listener = new Listener(source);
            tracker.Track(listener, $"listener {i}");
        }
    }
    #endregion

    private sealed class Source
    {
        public event EventHandler? Changed;

        public void Raise() => Changed?.Invoke(this, EventArgs.Empty);
    }

    private sealed class Listener
    {
        public Listener(Source source, bool subscribe = false)
        {
            if (subscribe)
            {
                source.Changed += OnChanged;
            }
        }

        public int Calls { get; private set; }

        private void OnChanged(object? sender, EventArgs e) => Calls++;
    }
}
