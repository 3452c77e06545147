namespace SafeRefs.Tests.Infrastructure;

/// <summary>Tests that set a process-wide <c>ScopedTimer</c> hook (<c>BeforeEnterHook</c>, <c>BeforeIdlePublishHook</c>): they run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class TimerHookCollection
{
    public const string Name = "Timer hooks";
}
