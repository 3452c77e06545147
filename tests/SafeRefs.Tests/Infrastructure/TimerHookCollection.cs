namespace SafeRefs.Tests.Infrastructure;

/// <summary>Tests that set the process-wide <c>ScopedTimer.BeforeEnterHook</c>: they run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class TimerHookCollection
{
    public const string Name = "Timer hooks";
}
