namespace SafeRefs.Testing.Tests.Infrastructure;

/// <summary>A listener whose instance methods are attached to events.</summary>
internal sealed class Subscriber
{
    private readonly byte[] _data = new byte[1024];

    public int Calls { get; private set; }

    public void OnChanged(object? sender, EventArgs e)
    {
        Calls++;
        _data[0]++;
    }

    public void OnElapsed(object? sender, System.Timers.ElapsedEventArgs e) => Calls++;
}
