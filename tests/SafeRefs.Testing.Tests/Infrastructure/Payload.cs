namespace SafeRefs.Testing.Tests.Infrastructure;

/// <summary>An object with some weight, so that a survivor is obvious.</summary>
internal class Payload
{
    private readonly byte[] _data = new byte[1024];

    public int Touches { get; private set; }

    public void Touch()
    {
        Touches++;
        _data[0]++;
    }
}
