namespace SafeRefs.Tests.Subscriptions;

/// <summary>An event source whose listener count can be read.</summary>
public sealed class TestSource
{
    public event EventHandler? Changed;

    public event EventHandler<int>? Valued;

    public int RemoveCalls { get; private set; }

    public int ChangedCount => Changed?.GetInvocationList().Length ?? 0;

    public int ValuedCount => Valued?.GetInvocationList().Length ?? 0;

    public void RaiseChanged() => Changed?.Invoke(this, EventArgs.Empty);

    public void RaiseValued(int value) => Valued?.Invoke(this, value);

    public void AddChanged(EventHandler handler) => Changed += handler;

    public void AddValued(EventHandler<int> handler) => Valued += handler;

    public void RemoveValued(EventHandler<int> handler)
    {
        RemoveCalls++;
        Valued -= handler;
    }

    public void RemoveChanged(EventHandler handler)
    {
        RemoveCalls++;
        Changed -= handler;
    }
}
