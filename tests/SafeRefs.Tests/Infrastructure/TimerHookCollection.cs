namespace SafeRefs.Tests.Infrastructure;

/// <summary>Tests that set a process-wide timer hook (<c>ScopedTimer.BeforeEnterHook</c>, <c>BeforeIdlePublishHook</c>,
/// <c>EnclosingCallbacks.Frame.BeforeEndHook</c>): they run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class TimerHookCollection
{
    public const string Name = "Timer hooks";
}
