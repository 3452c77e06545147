namespace SafeRefs.Subscriptions;

/// <summary>What a <see cref="ListenerBudget"/> does when a listener count goes above its limit.</summary>
public enum ListenerBudgetAction
{
    /// <summary>
    /// Attach the listener, then raise <see cref="ListenerBudget.Exceeded"/> and log a warning, once per
    /// (source, event name). Never throws. The default, as in Node.js.
    /// </summary>
    Warn = 0,

    /// <summary>Refuse the listener: throw <see cref="ListenerLimitExceededException"/> and attach nothing.</summary>
    Throw = 1,

    /// <summary>Attach the listener and report nothing (the count is still kept).</summary>
    Ignore = 2,
}
