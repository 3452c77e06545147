using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Pooling;

namespace SafeRefs.Tests.Docs;

/// <summary>The examples of docs/pooling.md and the README pooling quick start, compiled and run.</summary>
public sealed class PoolingDocs
{
    [Fact]
    public void Risky_PooledObjectCollectsOneHandlerPerUse()
    {
        var pool = new DefaultObjectPool<Channel>(new DefaultPooledObjectPolicy<Channel>(), maximumRetained: 1);
        for (var i = 0; i < 3; i++)
        {
            RiskyRequest(pool, new Request());
        }

        var channel = pool.Get();
        Assert.Equal(3, channel.MessageHandlers);
    }

    [Fact]
    public void Guarded_EveryUseShedsItsHandlers()
    {
        var pool = new GuardedObjectPool<Channel>(new DefaultObjectPool<Channel>(new DefaultPooledObjectPolicy<Channel>(), maximumRetained: 1));
        for (var i = 0; i < 3; i++)
        {
            GuardedRequest(pool, new Request());
        }

        using var lease = pool.Rent();
        Assert.Equal(0, lease.Value.MessageHandlers);
    }

    [Fact]
    public void Readme_QuickStart_Runs()
    {
        var request = new Request();
        #region docs-readme-pooling
        var pool = new GuardedObjectPool<Channel>(new DefaultObjectPool<Channel>(new DefaultPooledObjectPolicy<Channel>()));
        using (var lease = pool.Rent())
        {
            lease.On(static (c, h) => c.Message += h, static (c, h) => c.Message -= h,
                (EventHandler<string>)((_, text) => request.Log(text)));
            lease.Value.Send("ping");
        }   // the handler is removed before the channel goes back to the pool
        #endregion
        Assert.Equal(["ping"], request.Lines);
    }

    [Fact]
    public void Probe_And_Di_Run()
    {
        #region docs-pooling-di
        var services = new ServiceCollection();
        services.AddGuardedObjectPool<Channel>(options =>
        {
            options.MaxListenersPerEvent = 4;                       // per lease and event; 0 = unlimited
            options.ListenerCountProbe = static c => c.MessageHandlers; // catches handlers added behind the lease
            options.OnLeakSuspected = LeakAction.WarnAndDiscard;     // the default
        });
        using var provider = services.BuildServiceProvider();
        var pool = provider.GetRequiredService<GuardedObjectPool<Channel>>();   // also ObjectPool<Channel>
        #endregion
        using var lease = pool.Rent();
        Assert.Same(pool, provider.GetRequiredService<ObjectPool<Channel>>());
    }

    [Fact]
    public async Task PerUseWork_Runs()
    {
        var pool = new GuardedObjectPool<Channel>(new DefaultObjectPool<Channel>(new DefaultPooledObjectPolicy<Channel>()));
        using var stopping = new CancellationTokenSource();
        var shutdown = stopping.Token;
        #region docs-pooling-per-use
        using (var lease = pool.Rent())
        {
            var channel = lease.Value;
            lease.Timers.Every(TimeSpan.FromSeconds(30), () => channel.Send("keep-alive"));  // stopped at return
            lease.OnCancel(shutdown, () => channel.Send("bye"));                             // removed at return
            var work = Task.Delay(Timeout.Infinite, lease.Token);                             // cancelled at return
        }
        #endregion
        await Task.CompletedTask;
    }

#pragma warning disable SR1008 // the risky pattern, shown on purpose
    #region docs-pooling-risky
    private static void RiskyRequest(ObjectPool<Channel> pool, Request request)
    {
        var channel = pool.Get();
        channel.Message += (_, text) => request.Log(text);   // never removed: the next user inherits it
        channel.Send("ping");
        pool.Return(channel);                                // and `request` now lives as long as the channel
    }
    #endregion
#pragma warning restore SR1008

    #region docs-pooling-guarded
    private static void GuardedRequest(GuardedObjectPool<Channel> pool, Request request)
    {
        using var lease = pool.Rent();
        lease.On(static (c, h) => c.Message += h, static (c, h) => c.Message -= h,
            (EventHandler<string>)((_, text) => request.Log(text)));
        lease.Value.Send("ping");
    }   // Dispose: handler removed, timers stopped, Token cancelled, then the channel is returned
    #endregion

    public sealed class Channel
    {
        public event EventHandler<string>? Message;

        public int MessageHandlers => Message?.GetInvocationList().Length ?? 0;

        public void Send(string text) => Message?.Invoke(this, text);
    }

    public sealed class Request
    {
        public List<string> Lines { get; } = [];

        public void Log(string text) => Lines.Add(text);
    }
}
