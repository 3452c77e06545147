using System.Text;

namespace SafeRefs.Testing.Internal;

/// <summary>
/// Converts type names to the form the runtime uses in its heap-walk events, so that a name written by a user
/// (<c>typeof(T).ToString()</c>, <c>typeof(T).FullName</c> with assembly-qualified generic arguments, or the
/// runtime's own form) finds the same entry.
/// </summary>
/// <remarks>
/// The form of <see cref="Type.ToString"/>: namespace-qualified names with generic arguments in brackets
/// (<c>System.Collections.Generic.List`1[Foo]</c>), arguments without assembly names, nested types with their
/// declaring types (<c>Ns.Outer+Inner</c>, <c>System.Collections.Generic.Dictionary`2+Entry[System.String,System.Int32]</c>).
/// The runtime's heap-walk events name a nested type by its own name only at the top level; the walker restores the
/// declaring types from the module's metadata (see <see cref="EventPipeHeapWalker"/>), so that distinct types are never merged.
/// </remarks>
internal static class TypeNames
{
    /// <summary>The snapshot name of <paramref name="type"/>.</summary>
    public static string Of(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return type.ToString();
    }

    /// <summary>Normalises a user-supplied or snapshot type name to the snapshot form.</summary>
    public static string Normalize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string trimmed = name.Trim();
        if (trimmed.Length == 0)
        {
            return trimmed;
        }

        var output = new StringBuilder(trimmed.Length);
        int position = 0;
        WriteType(trimmed, ref position, output);

        // An assembly-qualified name ("Foo, MyAssembly, Version=...") keeps only the type part.
        if (position < trimmed.Length && trimmed[position] != ',')
        {
            // Not a name this parser understands (for example a C#-style "List<int>"): keep it as written.
            return trimmed;
        }

        return output.ToString();
    }

    /// <summary>
    /// Whether <paramref name="name"/> (normalised) equals <paramref name="normalizedPattern"/> (normalised) or starts with it
    /// as a prefix; a prefix ending in <c>.</c>, <c>+</c> or <c>`</c> matches everything under it.
    /// </summary>
    public static bool Matches(string name, string normalizedPattern) =>
        name.StartsWith(normalizedPattern, StringComparison.Ordinal);

    // Grammar: type := simple-name ( '[' arg (',' arg)* ']' )? suffix*
    //          arg := '[' type (',' assembly-part)* ']' | type
    //          suffix := '[' ','* ']' | '[*]' | '*' | '&'
    private static void WriteType(string s, ref int i, StringBuilder output)
    {
        int start = i;
        while (i < s.Length && s[i] is not '[' and not ']' and not ',')
        {
            i++;
        }

        output.Append(s.AsSpan(start, i - start).Trim());

        // Generic arguments: '[' followed by something other than ',' ']' or '*'.
        if (i + 1 < s.Length && s[i] == '[' && s[i + 1] is not ',' and not ']' and not '*')
        {
            i++;
            output.Append('[');
            bool first = true;
            while (i < s.Length)
            {
                if (!first)
                {
                    output.Append(',');
                }

                first = false;
                SkipSpaces(s, ref i);
                if (i < s.Length && s[i] == '[')
                {
                    i++;
                    WriteType(s, ref i, output);

                    // Skip ", Assembly, Version=..., ..." up to the matching ']'.
                    while (i < s.Length && s[i] != ']')
                    {
                        i++;
                    }

                    i++;
                }
                else
                {
                    WriteType(s, ref i, output);
                }

                SkipSpaces(s, ref i);
                if (i < s.Length && s[i] == ',')
                {
                    i++;
                    continue;
                }

                if (i < s.Length && s[i] == ']')
                {
                    i++;
                    break;
                }

                // Malformed: stop here; the caller sees that the input was not consumed.
                return;
            }

            output.Append(']');
        }

        // Array, pointer and by-ref suffixes.
        while (i < s.Length)
        {
            if (s[i] is '*' or '&')
            {
                output.Append(s[i]);
                i++;
            }
            else if (s[i] == '[' && i + 1 < s.Length && s[i + 1] is ',' or ']' or '*')
            {
                int close = s.IndexOf(']', i);
                if (close < 0)
                {
                    return;
                }

                output.Append(s, i, close - i + 1);
                i = close + 1;
            }
            else
            {
                break;
            }
        }
    }

    private static void SkipSpaces(string s, ref int i)
    {
        while (i < s.Length && s[i] == ' ')
        {
            i++;
        }
    }
}
