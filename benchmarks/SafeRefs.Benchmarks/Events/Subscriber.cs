using System.Runtime.CompilerServices;
using CommunityToolkit.Mvvm.Messaging;

namespace SafeRefs.Benchmarks.Events;

/// <summary>
/// The same work (one counter increment, in a method the JIT may not inline) for every mechanism. Without
/// <c>NoInlining</c> the JIT's delegate devirtualization inlines the handler into a one-handler plain event, whose
/// raise then measures as 0 ns and makes every ratio meaningless.
/// </summary>
public sealed class Subscriber : IRecipient<PingMessage>
{
    public int Calls { get; private set; }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public void OnEvent(object? sender, PingMessage e) => Calls++;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Receive(PingMessage message) => Calls++;
}

/// <summary>The event data / message, one reused instance.</summary>
public sealed class PingMessage
{
    public static readonly PingMessage Instance = new();
}
