using System.Text;

namespace SafeRefs.Internal;

/// <summary>
/// Type names for metric tags and log messages: a generic type reads as C# writes it
/// (<c>SafeRefs.Events.WeakEvent&lt;System.Int32&gt;</c>) instead of its assembly-qualified <see cref="Type.FullName"/>,
/// which carries every argument's assembly, version and key. Other types keep their <see cref="Type.FullName"/>.
/// </summary>
internal static class TypeNames
{
    /// <summary>Gets the display name of <paramref name="type"/> (not cached: callers keep it or use it rarely).</summary>
    internal static string Display(Type type)
    {
        if (!type.IsGenericType)
        {
            return type.FullName ?? type.Name;
        }

        var builder = new StringBuilder();
        Append(builder, type);
        return builder.ToString();
    }

    private static void Append(StringBuilder builder, Type type)
    {
        if (type.IsArray)
        {
            Append(builder, type.GetElementType()!);
            builder.Append('[').Append(',', type.GetArrayRank() - 1).Append(']');
            return;
        }

        if (type.IsGenericParameter)
        {
            builder.Append(type.Name);
            return;
        }

        AppendPlainName(builder, type);
        if (!type.IsGenericType)
        {
            return;
        }

        // Every argument, declaring types' ones included, after the innermost name: Outer<int>.Inner reads Outer+Inner<System.Int32>.
        builder.Append('<');
        var first = true;
        foreach (var argument in type.GetGenericArguments())
        {
            if (!first)
            {
                builder.Append(", ");
            }

            first = false;
            Append(builder, argument);
        }

        builder.Append('>');
    }

    // Namespace (or declaring types, joined by '+') and the name without its generic arity.
    private static void AppendPlainName(StringBuilder builder, Type type)
    {
        if (type.DeclaringType is { } declaring)
        {
            AppendPlainName(builder, declaring);
            builder.Append('+');
        }
        else if (!string.IsNullOrEmpty(type.Namespace))
        {
            builder.Append(type.Namespace).Append('.');
        }

        var name = type.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        builder.Append(tick < 0 ? name : name.AsSpan(0, tick));
    }
}
