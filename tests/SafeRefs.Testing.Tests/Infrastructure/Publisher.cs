namespace SafeRefs.Testing.Tests.Infrastructure;

/// <summary>A long-lived event source.</summary>
internal sealed class Publisher
{
    public event EventHandler? Changed;

    public void Raise() => Changed?.Invoke(this, EventArgs.Empty);
}
