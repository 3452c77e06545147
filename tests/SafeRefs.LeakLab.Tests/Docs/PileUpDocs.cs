using System.Threading.Channels;

namespace SafeRefs.LeakLab.Tests.Docs;

/// <summary>The examples of docs/index.md (requests piling up behind a busy CPU), compiled and run.</summary>
public sealed class PileUpDocs
{
    [Fact]
    public void Unbounded_AcceptsEverything()
    {
        #region docs-pileup-risky
        // Every request is accepted: while the consumer is slower than the arrivals, the queue grows without bound.
        var queue = Channel.CreateUnbounded<Request>();

        void Accept(Request request) => queue.Writer.TryWrite(request);
        #endregion

        for (var i = 0; i < 100; i++)
        {
            Accept(new Request(i));
        }

        Assert.Equal(100, queue.Reader.Count);
    }

    [Fact]
    public void Bounded_RejectsPastCapacity()
    {
        #region docs-pileup-safe
        var queue = Channel.CreateBounded<Request>(new BoundedChannelOptions(capacity: 64)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite returns false when the queue is full
        });
        var rejected = 0;

        bool Accept(Request request)
        {
            if (queue.Writer.TryWrite(request))
            {
                return true;
            }

            rejected++; // answer now (503 or 429 with Retry-After); the request is not kept
            return false;
        }
        #endregion

        for (var i = 0; i < 100; i++)
        {
            Accept(new Request(i));
        }

        Assert.Equal(64, queue.Reader.Count);
        Assert.Equal(36, rejected);
    }

    private sealed record Request(int Id);
}
