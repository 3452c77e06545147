namespace SafeRefs.Caching.Redis.Internal;

/// <summary>
/// The wire format: <c>1|sender|kind|payload</c>. It carries the sender's instance id (so an instance ignores its own
/// messages) and a key or tag, never a value. The payload is everything after the third separator, so keys may
/// contain the separator.
/// </summary>
internal static class InvalidationMessage
{
    private const char Separator = '|';
    private const string Version = "1";

    internal static string Format(string sender, InvalidationKind kind, string payload)
        => string.Concat(Version, "|", sender, "|", ((char)kind).ToString(), "|", payload);

    internal static bool TryParse(string? message, out string sender, out InvalidationKind kind, out string payload)
    {
        sender = string.Empty;
        payload = string.Empty;
        kind = default;
        if (message is null || !message.StartsWith(Version + "|", StringComparison.Ordinal))
        {
            return false;
        }

        var senderStart = Version.Length + 1;
        var senderEnd = message.IndexOf(Separator, senderStart);
        if (senderEnd < 0 || senderEnd + 2 >= message.Length || message[senderEnd + 2] != Separator)
        {
            return false;
        }

        kind = (InvalidationKind)message[senderEnd + 1];
        if (kind is not (InvalidationKind.Key or InvalidationKind.Tag or InvalidationKind.Clear))
        {
            return false;
        }

        sender = message[senderStart..senderEnd];
        payload = message[(senderEnd + 3)..];
        return sender.Length > 0;
    }
}
