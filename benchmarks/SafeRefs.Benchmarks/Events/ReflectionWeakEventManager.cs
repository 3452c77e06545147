using System.Reflection;

namespace SafeRefs.Benchmarks.Events;

/// <summary>
/// A weak event manager built the way MAUI's <c>WeakEventManager</c> works, written here as a baseline: handlers are
/// stored per event name as (weak target, <see cref="MethodInfo"/>) and invoked with <see cref="MethodBase.Invoke(object?, object?[])"/>.
/// </summary>
public sealed class ReflectionWeakEventManager
{
    private readonly Dictionary<string, List<Registration>> _handlers = new(StringComparer.Ordinal);

    public void AddEventHandler<TArgs>(EventHandler<TArgs> handler, string eventName)
    {
        if (!_handlers.TryGetValue(eventName, out var list))
        {
            list = [];
            _handlers.Add(eventName, list);
        }

        list.Add(new Registration(handler.Target is null ? null : new WeakReference(handler.Target), handler.Method));
    }

    public void RemoveEventHandler<TArgs>(EventHandler<TArgs> handler, string eventName)
    {
        if (!_handlers.TryGetValue(eventName, out var list))
        {
            return;
        }

        for (var i = list.Count - 1; i >= 0; i--)
        {
            var registration = list[i];
            if (registration.Method == handler.Method && ReferenceEquals(registration.Target?.Target, handler.Target))
            {
                list.RemoveAt(i);
                return;
            }
        }
    }

    public void HandleEvent(object? sender, object? args, string eventName)
    {
        if (!_handlers.TryGetValue(eventName, out var list))
        {
            return;
        }

        // Copy the live ones first (so handlers may unsubscribe), then invoke through reflection.
        var toRaise = new List<(object? Target, MethodInfo Method)>();
        for (var i = list.Count - 1; i >= 0; i--)
        {
            var registration = list[i];
            if (registration.Target is null)
            {
                toRaise.Add((null, registration.Method));
            }
            else if (registration.Target.Target is { } target)
            {
                toRaise.Add((target, registration.Method));
            }
            else
            {
                list.RemoveAt(i);
            }
        }

        for (var i = toRaise.Count - 1; i >= 0; i--)
        {
            var (target, method) = toRaise[i];
            method.Invoke(target, [sender, args]);
        }
    }

    private sealed record Registration(WeakReference? Target, MethodInfo Method);
}
