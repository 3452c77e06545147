using SafeRefs.Caching.Redis.Internal;

namespace SafeRefs.Caching.Redis.Tests;

public sealed class ReadTrackerTests
{
    [Fact]
    public void Read_WithoutInvalidation_IsNotMarked_AndLeavesNothingBehind()
    {
        var tracker = new ReadTracker();
        var read = tracker.Begin("k");
        tracker.Invalidate("other");

        Assert.False(tracker.End(read));
        Assert.Equal(0, tracker.Count);
    }

    [Fact]
    public void InvalidationOfTheKey_DuringTheRead_MarksIt()
    {
        var tracker = new ReadTracker();
        var first = tracker.Begin("k");
        var second = tracker.Begin("k");
        tracker.Invalidate("k");

        Assert.True(tracker.End(first));
        Assert.True(tracker.End(second));
        Assert.False(tracker.End(tracker.Begin("k"))); // a read that starts afterwards is clean
        Assert.Equal(0, tracker.Count);
    }

    [Fact]
    public void InvalidationBeforeTheRead_DoesNotMarkIt()
    {
        var tracker = new ReadTracker();
        tracker.Invalidate("k");
        tracker.InvalidateAll();

        Assert.False(tracker.End(tracker.Begin("k")));
    }

    [Fact]
    public void InvalidateAll_MarksEveryReadInFlight()
    {
        var tracker = new ReadTracker();
        var a = tracker.Begin("a");
        var b = tracker.Begin("b");
        tracker.InvalidateAll();

        Assert.True(tracker.End(a));
        Assert.True(tracker.End(b));
    }

    [Fact]
    public async Task ConcurrentReadsAndInvalidations_NeverLoseAReadInFlight()
    {
        var tracker = new ReadTracker();
        var missed = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                var read = tracker.Begin("hot");
                tracker.Invalidate("hot"); // applied while this read is in flight: End must report it
                if (!tracker.End(read))
                {
                    Interlocked.Increment(ref missed);
                }
            }
        })));

        Assert.Equal(0, missed);
        Assert.Equal(0, tracker.Count);
    }
}
