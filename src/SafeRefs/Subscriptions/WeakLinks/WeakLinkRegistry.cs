using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;

namespace SafeRefs.Subscriptions.WeakLinks;

/// <summary>
/// Every attached <see cref="WeakLink"/>, so that links whose owner or source was collected are detached even if the
/// event never fires: after each gen-2 collection (on the thread pool, through <see cref="Gen2Callback"/>) and, on the
/// subscribing thread, once the registrations since the last purge reach the number of registered links (at least 256).
/// </summary>
/// <remarks>
/// A <see cref="Lock"/> guards an array of links; each link knows its index, so leaving is a swap-remove. A purge copies
/// the links under the lock and checks them outside it; sweeps may overlap safely, because each link is detached (and
/// its handles freed) exactly once, by the caller that claims it. No user code runs under the lock.
/// </remarks>
internal static class WeakLinkRegistry
{
    private const int MinPurgeInterval = 256;

    private static readonly Lock SyncRoot = new();
    private static WeakLink?[] _links = new WeakLink?[16];
    private static int _count;
    private static int _registeredSincePurge;
    private static bool _gen2Registered;

    /// <summary>Gets the number of registered links.</summary>
    internal static int Count
    {
        get
        {
            lock (SyncRoot)
            {
                return _count;
            }
        }
    }

    /// <summary>Registers an attached link; may then purge on the calling thread (never throws for another link's failure).</summary>
    internal static void Register(WeakLink link)
    {
        bool purge;
        lock (SyncRoot)
        {
            if (_count == _links.Length)
            {
                Array.Resize(ref _links, _count * 2);
            }

            link.RegistryIndex = _count;
            _links[_count++] = link;
            purge = ++_registeredSincePurge >= Math.Max(MinPurgeInterval, _count);
            if (purge)
            {
                _registeredSincePurge = 0;
            }

            if (!_gen2Registered)
            {
                _gen2Registered = true;
                Gen2Callback.AddSweep(static () => Purge(onOwnThread: false));
            }
        }

        if (purge)
        {
            Purge(onOwnThread: true);
        }
    }

    /// <summary>Removes a detached link (no-op when it was never registered or already removed).</summary>
    internal static void Unregister(WeakLink link)
    {
        lock (SyncRoot)
        {
            var index = link.RegistryIndex;
            if (index < 0)
            {
                return;
            }

            var last = _links[--_count]!;
            _links[index] = last;
            last.RegistryIndex = index;
            _links[_count] = null;
            link.RegistryIndex = -1;
            if (_links.Length > 64 && _count < _links.Length / 4)
            {
                Array.Resize(ref _links, _links.Length / 2);
            }
        }
    }

    /// <summary>
    /// Detaches every link whose owner or source was collected. Links of thread-affine sources are detached only when
    /// <paramref name="onOwnThread"/> and this is the thread that subscribed them (otherwise posted to their context, or
    /// left to their next raise). Never throws: each failure is logged and counted, and the purge goes on.
    /// </summary>
    /// <param name="onOwnThread"><see langword="false"/> for the thread-pool purge.</param>
    /// <returns>The number of links this purge detached.</returns>
    internal static int Purge(bool onOwnThread = true)
    {
        WeakLink?[] links;
        int count;
        lock (SyncRoot)
        {
            count = _count;
            links = new WeakLink?[count];
            Array.Copy(_links, links, count);
        }

        var detached = 0;
        for (var i = 0; i < count; i++)
        {
            var link = links[i]!;
            try
            {
                if (link.TryPurge(onOwnThread))
                {
                    detached++;
                }
            }
#pragma warning disable CA1031 // TryPurge reports a failed remove itself; anything else must not stop the purge either.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Metrics.BackgroundFailures.ReportDetachFailed(ex, link.GetType(), "(purge)", "purge");
            }
        }

        return detached;
    }
}
