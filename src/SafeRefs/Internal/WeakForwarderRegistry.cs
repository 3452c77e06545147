using SafeRefs.Subscriptions;

namespace SafeRefs.Internal;

/// <summary>
/// Keeps the forwarders created by <see cref="Events.WeakSubscriptions"/> so that those whose owner died are detached
/// even if their source never raises again. Purges on the subscribing thread, every
/// <see cref="PurgeInterval"/> attachments and after each gen-2 collection: never from a finalizer.
/// </summary>
internal static class WeakForwarderRegistry
{
    /// <summary>Attachments between two purges.</summary>
    internal const int PurgeInterval = 256;

    private static readonly Lock SyncRoot = new();
    private static readonly List<WeakForwarder> Forwarders = [];
    private static int _attachesSincePurge;
    private static int _lastGen2Count = -1;

    /// <summary>Gets the number of forwarders kept (live or awaiting the next purge).</summary>
    internal static int Count
    {
        get
        {
            lock (SyncRoot)
            {
                return Forwarders.Count;
            }
        }
    }

    /// <summary>Attaches a forwarder to its source and returns its token.</summary>
    internal static Subscription Attach(WeakForwarder forwarder)
    {
        var gen2 = GC.CollectionCount(2);
        List<WeakForwarder>? dead = null;
        lock (SyncRoot)
        {
            if (++_attachesSincePurge >= PurgeInterval || gen2 != _lastGen2Count)
            {
                dead = TakeDeadLocked();
                _attachesSincePurge = 0;
                _lastGen2Count = gen2;
            }

            Forwarders.Add(forwarder);
        }

        // Source accessors are user code: run them outside the lock.
        if (dead is not null)
        {
            foreach (var stale in dead)
            {
                stale.Detach();
            }
        }

        forwarder.Attach();
        return new Subscription(ForwarderDetacher.Instance, forwarder, null, null);
    }

    /// <summary>Detaches every forwarder whose owner or source died or whose token was disposed (tests; the caller's thread).</summary>
    internal static void Purge()
    {
        List<WeakForwarder> dead;
        lock (SyncRoot)
        {
            dead = TakeDeadLocked();
            _attachesSincePurge = 0;
        }

        foreach (var stale in dead)
        {
            stale.Detach();
        }
    }

    private static List<WeakForwarder> TakeDeadLocked()
    {
        var dead = new List<WeakForwarder>();
        var n = 0;
        for (var i = 0; i < Forwarders.Count; i++)
        {
            var forwarder = Forwarders[i];
            if (forwarder.IsDetached || forwarder.Entry.IsDead || !forwarder.IsSourceAlive)
            {
                if (!forwarder.IsDetached)
                {
                    dead.Add(forwarder);
                }
            }
            else
            {
                Forwarders[n++] = forwarder;
            }
        }

        Forwarders.RemoveRange(n, Forwarders.Count - n);
        return dead;
    }

    private sealed class ForwarderDetacher : Detacher
    {
        internal static readonly ForwarderDetacher Instance = new();

        public override void Detach(object? slot0, object? slot1, object? slot2) => ((WeakForwarder)slot0!).Detach();
    }
}
