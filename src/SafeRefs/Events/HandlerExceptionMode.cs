namespace SafeRefs.Events;

/// <summary>What a raise does when a handler throws.</summary>
public enum HandlerExceptionMode
{
    /// <summary>
    /// Stop at the first handler that throws and let its exception propagate unwrapped, like a C# event. The default.
    /// </summary>
    Propagate = 0,

    /// <summary>Run every handler, then throw one <see cref="AggregateException"/> holding every handler's exception.</summary>
    ContinueAndAggregate = 1,
}
