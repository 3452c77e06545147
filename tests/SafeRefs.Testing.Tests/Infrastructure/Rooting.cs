using System.Runtime.CompilerServices;

namespace SafeRefs.Testing.Tests.Infrastructure;

/// <summary>Ways to root (or not) an object, each built in a non-inlined frame so only weak references escape.</summary>
internal static class Rooting
{
    private static readonly List<object> StaticRoots = [];
    private static readonly Lock StaticRootsLock = new();

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static WeakReference Dropped() => new(new Payload());

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static WeakReference DroppedFinalizable() => new(new FinalizablePayload());

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static WeakReference RootedByStaticField()
    {
        var payload = new Payload();
        lock (StaticRootsLock)
        {
            StaticRoots.Add(payload);
        }

        return new WeakReference(payload);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static WeakReference RootedFinalizableByStaticField()
    {
        var payload = new FinalizablePayload();
        lock (StaticRootsLock)
        {
            StaticRoots.Add(payload);
        }

        return new WeakReference(payload);
    }

    public static void ReleaseStaticRoots(WeakReference reference)
    {
        lock (StaticRootsLock)
        {
            StaticRoots.RemoveAll(o => ReferenceEquals(o, reference.Target));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static WeakReference SubscribedTo(Publisher publisher)
    {
        var subscriber = new Subscriber();
        publisher.Changed += subscriber.OnChanged;
        publisher.Raise();
        return new WeakReference(subscriber);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static WeakReference SubscribedThenUnsubscribed(Publisher publisher)
    {
        var subscriber = new Subscriber();
        publisher.Changed += subscriber.OnChanged;
        publisher.Raise();
        publisher.Changed -= subscriber.OnChanged;
        return new WeakReference(subscriber);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static WeakReference CapturedByRegistration(CancellationTokenSource source, bool disposeRegistration)
    {
        var payload = new Payload();
        var registration = source.Token.Register(() => payload.Touch());
        if (disposeRegistration)
        {
            registration.Dispose();
        }

        return new WeakReference(payload);
    }

    /// <summary>
    /// An enabled System.Timers.Timer that nothing references roots its Elapsed subscribers through the timer queue.
    /// Returns weak references to the subscriber and to the timer (so the test can stop it afterwards).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static (WeakReference Subscriber, WeakReference Timer) SubscribedToRunningTimer(bool disposeTimer)
    {
        var subscriber = new Subscriber();
        var timer = new System.Timers.Timer(TimeSpan.FromHours(1));
        timer.Elapsed += subscriber.OnElapsed;
        timer.Start();
        if (disposeTimer)
        {
            timer.Dispose();
        }

        return (new WeakReference(subscriber), new WeakReference(timer));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void StopTimer(WeakReference timer) => (timer.Target as System.Timers.Timer)?.Dispose();

    /// <summary>A key referenced only by a ConditionalWeakTable entry: the table holds keys weakly.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static WeakReference KeyOnlyInWeakTable(ConditionalWeakTable<object, object> table)
    {
        var key = new Payload();
        table.Add(key, new Payload());
        return new WeakReference(key);
    }

    /// <summary>A value attached to a live key: the table keeps it alive exactly as long as the key.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static WeakReference ValueOfKey(ConditionalWeakTable<object, object> table, object key)
    {
        var value = new Payload();
        table.Add(key, value);
        return new WeakReference(value);
    }

    /// <summary>A value attached to a key that dies with the frame.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static WeakReference ValueOfDroppedKey(ConditionalWeakTable<object, object> table)
    {
        var value = new Payload();
        table.Add(new Payload(), value);
        return new WeakReference(value);
    }
}
