namespace SafeRefs.Tests.Infrastructure;

/// <summary>Tests that set a process-wide hook (<c>ScopedTimer.BeforeEnterHook</c>, <c>BeforeIdlePublishHook</c>, and
/// <c>EnclosingCallbacks.Frame.BeforeEndHook</c>, which timer, loop and asynchronous event tests set alike): they run one
/// at a time.</summary>
[CollectionDefinition(Name)]
public sealed class TimerHookCollection
{
    public const string Name = "Timer hooks";
}
