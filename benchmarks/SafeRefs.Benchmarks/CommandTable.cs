namespace SafeRefs.Benchmarks;

/// <summary>The list of named commands; each area adds one line.</summary>
public static class CommandTable
{
    public static void RegisterAll()
    {
        Commands.Register("hit-ratio", Caching.HitRatioCommand.Run);
        Commands.Register("cache-footprint", Caching.CacheFootprintCommand.Run);
        Commands.Register("cache-mixed", Caching.CacheMixedCommand.Run);
        Commands.Register("invalidation-latency", Caching.InvalidationLatencyCommand.Run);
        Commands.Register("hybrid-l1-interleaved", Caching.HybridL1InterleavedCommand.Run);
        Commands.Register("subscribe-interleaved", Subscriptions.SubscribeInterleavedCommand.Run);
        Commands.Register("events-interleaved", Events.EventsInterleavedCommand.Run);
        Commands.Register("pool-interleaved", Pooling.GuardedPoolInterleavedCommand.Run);
        Commands.Register("timer-interleaved", Timers.TimerInterleavedCommand.Run);
        Commands.Register("graph-memory", Diagnostics.GraphMemoryCommand.Run);
    }
}
