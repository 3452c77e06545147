namespace SafeRefs.Tests.Infrastructure;

/// <summary>One subscription of a <see cref="DisposeRaceSoak"/>: counts its handler's invocations and those that started after it was marked disposed.</summary>
internal sealed class DisposeRaceRound
{
    public int Calls;
    public int Disposed;
    public int Violations;
    public long RunningAtDispose;

    /// <summary>Called by the subscribed handler.</summary>
    public void Invoked()
    {
        if (Volatile.Read(ref Disposed) != 0)
        {
            Interlocked.Increment(ref Violations);
        }

        Interlocked.Increment(ref Calls);
    }
}
