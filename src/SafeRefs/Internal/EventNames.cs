namespace SafeRefs.Internal;

/// <summary>Turns the text of an <c>add</c> expression (from <c>CallerArgumentExpression</c>) into an event name.</summary>
internal static class EventNames
{
    /// <summary>
    /// <c>static (s, h) =&gt; s.Changed += h</c> becomes <c>Changed</c>; text without <c>+=</c> (an explicit name, a
    /// method call) is returned trimmed.
    /// </summary>
    public static string Normalize(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "(unnamed)";
        }

        var span = text.AsSpan();
        var plusEquals = span.IndexOf("+=", StringComparison.Ordinal);
        if (plusEquals < 0)
        {
            return text.Trim();
        }

        var left = span[..plusEquals].TrimEnd();
        var end = left.Length;
        var start = end;
        while (start > 0 && (char.IsLetterOrDigit(left[start - 1]) || left[start - 1] == '_'))
        {
            start--;
        }

        return start == end ? text.Trim() : left[start..end].ToString();
    }
}
