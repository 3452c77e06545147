namespace SafeRefs.Testing.Internal;

/// <summary>Forces full, blocking, compacting collections with finalizer drains, a bounded number of rounds.</summary>
internal static class FullCollection
{
    /// <summary>Rounds used when waiting for objects to die; each round is collect, drain finalizers, collect.</summary>
    public const int MaxRounds = 10;

    /// <summary>Rounds used by controls (objects expected to stay alive): enough to clear every finalizer chain.</summary>
    public const int ControlRounds = 3;

    /// <summary>
    /// Collects until <paramref name="done"/> says so or <see cref="MaxRounds"/> rounds have run.
    /// Returns whether <paramref name="done"/> was satisfied.
    /// </summary>
    public static bool Until<TState>(Func<TState, bool> done, TState state, int rounds = MaxRounds)
    {
        for (var round = 0; round < rounds; round++)
        {
            Once();
            if (done(state))
            {
                return true;
            }

            // Finalizer-driven cleanup (timer holders, SafeHandles, CWT containers) may need a moment on another
            // thread before the next collection can reclaim what it released. This is GC settling, not test sync.
            if (round >= 1)
            {
                Thread.Sleep(Math.Min(4 * round, 20));
            }
        }

        return done(state);
    }

    /// <summary>One round: full blocking compacting collection, finalizer drain, second collection.</summary>
    public static void Once()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }
}
