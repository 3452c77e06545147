namespace SafeRefs.Analyzers.Tests.Infrastructure;

/// <summary>
/// Minimal declarations of the types the analyzers look up by metadata name, compiled with each test's source
/// (the analyzers never reference SafeRefs or Microsoft.Extensions assemblies).
/// </summary>
internal static class Stubs
{
    public const string Source = """
        #nullable enable
        namespace SafeRefs.Subscriptions
        {
            public sealed class Subscription : System.IDisposable
            {
                public void Dispose() { }
            }

            public sealed class ListenerBudget
            {
                public ListenerBudget(int maxListeners) { }
            }

            public sealed class SubscriptionBag : System.IDisposable
            {
                public T Add<T>(T item) where T : System.IDisposable => item;
                public void Dispose() { }
            }

            public static class Subscribe
            {
                public static Subscription WeakEvent<TSource, TOwner, TArgs>(
                    TSource source,
                    System.Action<TSource, System.EventHandler<TArgs>> add,
                    System.Action<TSource, System.EventHandler<TArgs>> remove,
                    TOwner owner,
                    System.Action<TOwner, object?, TArgs> handler)
                    where TSource : class
                    where TOwner : class => new Subscription();
            }
        }

        namespace SafeRefs.Events
        {
            public sealed class WeakEventOptions
            {
                public SafeRefs.Subscriptions.ListenerBudget? Budget { get; set; }
                public string? Name { get; set; }
                public System.Type? DeclaringType { get; set; }
            }

            public sealed class AsyncWeakEvent<TArgs>
            {
                public AsyncWeakEvent(WeakEventOptions? options = null) { }
            }

            public sealed class WeakDelegateEvent<TDelegate>
                where TDelegate : System.Delegate
            {
                public WeakDelegateEvent(WeakEventOptions? options = null) { }
            }

            public sealed class WeakEvent<TArgs>
            {
                public WeakEvent(WeakEventOptions? options = null) { }
                public void Add(System.EventHandler<TArgs> handler) { }
                public void Remove(System.EventHandler<TArgs> handler) { }
                public SafeRefs.Subscriptions.Subscription Subscribe<TOwner>(TOwner owner, System.Action<TOwner, object?, TArgs> handler)
                    where TOwner : class => new SafeRefs.Subscriptions.Subscription();
                public void Raise(object? sender, TArgs args) { }
            }
        }

        namespace SafeRefs.Timers
        {
            public sealed class ScopedTimer : System.IDisposable
            {
                public void Dispose() { }
            }

            public sealed class TimerScope : System.IDisposable
            {
                public ScopedTimer Every<TOwner>(TOwner owner, System.TimeSpan period, System.Action<TOwner> callback)
                    where TOwner : class => new ScopedTimer();
                public void Dispose() { }
            }
        }

        namespace Microsoft.Extensions.Primitives
        {
            public interface IChangeToken
            {
                bool HasChanged { get; }
            }

            public static class ChangeToken
            {
                public static System.IDisposable OnChange(System.Func<IChangeToken?> changeTokenProducer, System.Action changeTokenConsumer) => null!;
            }
        }

        namespace Microsoft.Extensions.Options
        {
            public interface IOptionsMonitor<out TOptions>
            {
                TOptions CurrentValue { get; }
                System.IDisposable? OnChange(System.Action<TOptions, string?> listener);
            }

            public static class OptionsMonitorExtensions
            {
                public static System.IDisposable? OnChange<TOptions>(this IOptionsMonitor<TOptions> monitor, System.Action<TOptions> listener) => null;
            }
        }

        namespace Microsoft.Extensions.Hosting
        {
            public interface IHostedService
            {
                System.Threading.Tasks.Task StartAsync(System.Threading.CancellationToken cancellationToken);
                System.Threading.Tasks.Task StopAsync(System.Threading.CancellationToken cancellationToken);
            }

            public abstract class BackgroundService : IHostedService, System.IDisposable
            {
                protected abstract System.Threading.Tasks.Task ExecuteAsync(System.Threading.CancellationToken stoppingToken);
                public virtual System.Threading.Tasks.Task StartAsync(System.Threading.CancellationToken cancellationToken) => ExecuteAsync(cancellationToken);
                public virtual System.Threading.Tasks.Task StopAsync(System.Threading.CancellationToken cancellationToken) => System.Threading.Tasks.Task.CompletedTask;
                public virtual void Dispose() { }
            }

            public interface IHostApplicationLifetime
            {
                System.Threading.CancellationToken ApplicationStarted { get; }
                System.Threading.CancellationToken ApplicationStopping { get; }
                System.Threading.CancellationToken ApplicationStopped { get; }
                void StopApplication();
            }
        }

        namespace Microsoft.Extensions.DependencyInjection
        {
            public interface IServiceCollection
            {
            }

            public static class ServiceCollectionServiceExtensions
            {
                public static IServiceCollection AddSingleton<TService>(this IServiceCollection services) where TService : class => services;
                public static IServiceCollection AddSingleton<TService, TImplementation>(this IServiceCollection services)
                    where TService : class where TImplementation : class, TService => services;
                public static IServiceCollection AddSingleton<TService>(this IServiceCollection services, System.Func<System.IServiceProvider, TService> factory)
                    where TService : class => services;
                public static IServiceCollection AddScoped<TService>(this IServiceCollection services) where TService : class => services;
            }

            public static class ServiceCollectionHostedServiceExtensions
            {
                public static IServiceCollection AddHostedService<THostedService>(this IServiceCollection services)
                    where THostedService : class, Microsoft.Extensions.Hosting.IHostedService => services;
            }
        }

        namespace Microsoft.AspNetCore.Builder
        {
            public interface IApplicationBuilder
            {
                IApplicationBuilder Use(System.Func<System.Func<System.Threading.Tasks.Task>, System.Func<System.Threading.Tasks.Task>> middleware);
            }
        }

        namespace Microsoft.Extensions.ObjectPool
        {
            public abstract class ObjectPool<T> where T : class
            {
                public abstract T Get();
                public abstract void Return(T obj);
            }
        }
        """;
}
