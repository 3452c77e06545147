using Microsoft.Extensions.ObjectPool;
using SafeRefs.Pooling;
using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Pooling;

/// <summary>A lease's object goes back only after its running <c>On</c> handlers, <c>OnCancel</c> callbacks and tracked
/// subscription callbacks return.</summary>
public sealed class PoolLeaseHandlerEndTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    public enum Attachment
    {
        OnEventHandler,
        OnEventHandlerOfT,
        TrackedSubscription,
        OnCancel,
    }

    [Theory]
    [InlineData(Attachment.OnEventHandler)]
    [InlineData(Attachment.OnEventHandlerOfT)]
    [InlineData(Attachment.TrackedSubscription)]
    [InlineData(Attachment.OnCancel)]
    public async Task End_WhileAHandlerRunsOnAnotherThread_TheObjectGoesBackOnlyAfterTheHandlerReturned(Attachment attachment)
    {
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        using var entered = new ManualResetEventSlim();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var touchedAfterRelease = 0;
        void Body()
        {
            entered.Set();
            release.Task.Wait(Bound);
            Interlocked.Increment(ref touchedAfterRelease); // still using the object after its lease ended
        }

        Attach(lease, attachment, Body);
        var raise = Task.Run(() => Raise(widget, attachment));
        Assert.True(entered.Wait(Bound), "the handler did not start");

        var disposed = lease.DisposeAsync().AsTask(); // the end itself does not wait
        Assert.False(disposed.IsCompleted);
        using (var next = pool.Rent())
        {
            // Not back yet: the next renter gets another object.
            Assert.NotSame(widget, next.Value);
        }

        Assert.Equal(0, widget.ListenerCount);
        Assert.Equal(1L, pool.Statistics.Returned); // only the other object came back so far
        release.SetResult();
        await raise.WaitAsync(Bound);
        await disposed.WaitAsync(Bound);
        Assert.Equal(1, touchedAfterRelease);
        Assert.Equal(2L, pool.Statistics.Returned);
    }

    [Theory]
    [InlineData(Attachment.OnEventHandler)]
    [InlineData(Attachment.OnEventHandlerOfT)]
    [InlineData(Attachment.TrackedSubscription)]
    [InlineData(Attachment.OnCancel)]
    public async Task End_AfterTheHandlerReturned_TheObjectGoesBackAtOnce(Attachment attachment)
    {
        // Control: a handler that ran and returned before the end does not delay the return.
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        var calls = 0;
        Attach(lease, attachment, () => calls++);
        await Task.Run(() => Raise(widget, attachment)).WaitAsync(Bound);
        Assert.Equal(1, calls);

        var disposed = lease.DisposeAsync();

        Assert.True(disposed.IsCompletedSuccessfully);
        Assert.Equal(1L, pool.Statistics.Returned);
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    [Fact]
    public void Dispose_FromInsideAnOnHandler_DoesNotBlock_AndTheObjectGoesBackAfterTheHandler()
    {
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        long returnedInsideHandler = -1;
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) =>
        {
            lease.Dispose();
            returnedInsideHandler = pool.Statistics.Returned;
        }));

        widget.RaiseChanged();

        Assert.Equal(0L, returnedInsideHandler);
        Assert.True(SpinWait.SpinUntil(() => pool.Statistics.Returned == 1, Bound));
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    [Theory]
    [InlineData(Attachment.OnEventHandler, false)]
    [InlineData(Attachment.OnEventHandlerOfT, false)]
    [InlineData(Attachment.OnEventHandler, true)]
    [InlineData(Attachment.OnEventHandlerOfT, true)]
    [InlineData(Attachment.OnCancel, false)]
    [InlineData(Attachment.OnCancel, true)]
    public async Task DisposeAsync_InsideAnOnHandler_CompletesOnceTheHandlerReturned(Attachment attachment, bool disposeFirst)
    {
        // The handler is a synchronous delegate: it returns before an await of the task in it resumes, so the wait ends
        // (a fault here would be thrown out of an async handler's await, where nothing catches it). Also when a Dispose
        // in the same handler already ended the lease.
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        Task? ownDispose = null;
        var completedInside = true;
        Attach(lease, attachment, () =>
        {
            if (disposeFirst)
            {
                lease.Dispose();
            }

            ownDispose = lease.DisposeAsync().AsTask();
            completedInside = ownDispose.IsCompleted;
        });

        Raise(widget, attachment);

        Assert.False(completedInside, "the object went back while its handler still ran");
        await ownDispose!.WaitAsync(Bound); // completed on the raising thread, as the handler returned
        Assert.Equal(1L, pool.Statistics.Returned);
        using var next = pool.Rent();
        Assert.Same(widget, next.Value);
    }

    [Fact]
    public async Task DisposeAsync_AwaitedInAnAsyncOnHandler_TheRestOfTheHandlerRunsAfterTheObjectWentBack()
    {
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        var after = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)(async (_, _) =>
        {
            try
            {
                await lease.DisposeAsync().ConfigureAwait(false);
                after.SetResult(pool.Statistics.Returned);
            }
#pragma warning disable CA1031 // an async void handler: the failure is the test's result
            catch (Exception ex)
#pragma warning restore CA1031
            {
                after.SetException(ex);
            }
        }));

        widget.RaiseChanged();

        Assert.Equal(1L, await after.Task.WaitAsync(Bound));
    }

    [Fact]
    public async Task DisposeAsync_InsideAnOnHandlerOfAnotherObjectsLease_IsNotMistakenForItsOwn()
    {
        // Control: the check is per lease. A handler of lease B ending lease A (whose own handler is not running) gets a
        // task that completes.
        var pool = new GuardedObjectPool<Widget>(new DefaultObjectPool<Widget>(new DefaultPooledObjectPolicy<Widget>()));
        var a = pool.Rent();
        var b = pool.Rent();
        Task? disposeA = null;
        b.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => disposeA = a.DisposeAsync().AsTask()));

        b.Value.RaiseChanged();

        await disposeA!.WaitAsync(Bound);
        b.Dispose();
        Assert.Equal(2L, pool.Statistics.Returned);
    }

    [Fact]
    public void On_AfterTheLeaseEnded_AnInvocationThatHadReadTheDelegate_DoesNotStart()
    {
        // The event holds a forwarder: a raise that read the delegate before the end calls nothing after it.
        var pool = Widget.PoolOfOne();
        var lease = pool.Rent();
        var widget = lease.Value;
        var calls = 0;
        lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => calls++));
        var read = widget.ChangedDelegate!;

        lease.Dispose();
        read(widget, EventArgs.Empty);

        Assert.Equal(0, calls);
    }

    private static void Attach(PoolLease<Widget> lease, Attachment attachment, Action body)
    {
        switch (attachment)
        {
            case Attachment.OnEventHandler:
                lease.On(static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => body()));
                break;
            case Attachment.OnEventHandlerOfT:
                lease.On(static (w, h) => w.Ticked += h, static (w, h) => w.Ticked -= h, (EventHandler<int>)((_, _) => body()));
                break;
            case Attachment.OnCancel:
                lease.OnCancel(lease.Value.Closing, body);
                break;
            default:
                lease.Track(Subscribe.Event(lease.Value, static (w, h) => w.Changed += h, static (w, h) => w.Changed -= h, (EventHandler)((_, _) => body())));
                break;
        }
    }

    private static void Raise(Widget widget, Attachment attachment)
    {
        if (attachment == Attachment.OnEventHandlerOfT)
        {
            widget.RaiseTicked(1);
        }
        else if (attachment == Attachment.OnCancel)
        {
            widget.RaiseClosing();
        }
        else
        {
            widget.RaiseChanged();
        }
    }
}
