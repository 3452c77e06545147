namespace SafeRefs.Diagnostics.Internal;

/// <summary>
/// The attribute (tag) names of the SafeRefs instruments, in one place. Each is namespaced under <c>saferefs.</c>, as
/// OpenTelemetry's naming rules ask of names a library defines, so that none collides with a registered
/// semantic-convention attribute (<c>event.name</c>, <c>source.*</c>) or with another library's bare <c>reason</c>.
/// </summary>
internal static class MetricTags
{
    /// <summary>The weak event's or budget's event name.</summary>
    internal const string EventName = "saferefs.event.name";

    /// <summary>The full name of the type whose event exceeded a budget or failed to detach.</summary>
    internal const string SourceType = "saferefs.source.type";

    /// <summary>What an exceeded listener budget did: <c>warn</c> or <c>throw</c>.</summary>
    internal const string ListenerBudgetAction = "saferefs.listener.budget.action";

    /// <summary>Which user callback threw (cache observers, timer bodies, subscription reporting).</summary>
    internal const string CallbackKind = "saferefs.callback.kind";

    /// <summary>The bounded cache's name.</summary>
    internal const string CacheName = "saferefs.cache.name";

    /// <summary>Why entries were evicted: <c>capacity</c>, <c>weight</c> or <c>expired</c>.</summary>
    internal const string CacheEvictionReason = "saferefs.cache.eviction.reason";

    /// <summary>The timer scope's name.</summary>
    internal const string TimerScopeName = "saferefs.timer.scope.name";

    /// <summary>The full name of a guarded pool's object type.</summary>
    internal const string PoolObjectType = "saferefs.pool.object.type";
}
