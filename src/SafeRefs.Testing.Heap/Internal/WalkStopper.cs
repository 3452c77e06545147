using System.Diagnostics;
using Microsoft.Diagnostics.NETCore.Client;

namespace SafeRefs.Testing.Internal;

/// <summary>
/// Stops a heap walk's session once it has been quiet for a while or ran out of time. It runs on the watchdog timer and
/// on a thread-pool task that can outlive the walk, so it holds the session and the clock and nothing else: what it
/// references is still reachable when the next snapshot's collection runs, and the walk's tables (type names, counts,
/// the reference graph and TraceEvent's parser) would then be counted as the target's own growth.
/// </summary>
internal sealed class WalkStopper(EventPipeSession session, TimeSpan timeout, TimeSpan quiet)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastEventTicks;
    private int _stopRequested;

    /// <summary>Gets or sets a test hook that runs on the stopping task after the session was stopped.</summary>
    internal static Action? AfterStop { get; set; }

    /// <summary>Records that an event arrived.</summary>
    public void Touch() => Volatile.Write(ref _lastEventTicks, _clock.Elapsed.Ticks);

    /// <summary>The watchdog's tick: stops the session when the stream has been quiet too long or time is up.</summary>
    public void Check()
    {
        TimeSpan now = _clock.Elapsed;
        if (now >= timeout || now - TimeSpan.FromTicks(Volatile.Read(ref _lastEventTicks)) >= quiet)
        {
            Stop();
        }
    }

    /// <summary>Stops the session once, on a thread-pool thread.</summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopRequested, 1) == 0)
        {
            // Stop() blocks until the runtime acknowledges; never call it on the thread reading the stream.
            _ = Task.Run(StopSession);
        }
    }

    private void StopSession()
    {
        try
        {
            session.Stop();
        }
        catch (ServerNotAvailableException)
        {
            // The target exited: the stream ends by itself.
        }
        catch (TimeoutException)
        {
            // Same: nothing left to stop.
        }
        catch (IOException)
        {
            // The pipe is already closed.
        }
        catch (ObjectDisposedException)
        {
            // The walk ended and the session was disposed first.
        }

        AfterStop?.Invoke();
    }
}
