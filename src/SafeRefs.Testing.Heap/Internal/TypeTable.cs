using System.Globalization;

namespace SafeRefs.Testing.Internal;

/// <summary>The types a heap walk described (bulk type events), and their snapshot names once resolved.</summary>
internal sealed class TypeTable
{
    private readonly Dictionary<ulong, (string Name, ulong Module, int Token, ulong Element)> _types = [];

    public static string Unknown(ulong typeId) => string.Create(CultureInfo.InvariantCulture, $"<unknown type 0x{typeId:x}>");

    public void Add(ulong typeId, string name, ulong module, int token, ulong element) =>
        _types[typeId] = (name, module, token, element);

    public ulong? ModuleOf(ulong typeId) => _types.TryGetValue(typeId, out var type) ? type.Module : null;

    /// <summary>
    /// The snapshot name of every type: the runtime's name, with the declaring types put back in front of a nested
    /// type (and of an array of one) from the module's metadata, as <see cref="Type.ToString"/> writes them.
    /// </summary>
    public Dictionary<ulong, string> ResolveNames(Dictionary<ulong, string> modulePaths, ModuleMetadata metadata)
    {
        var prefixes = new Dictionary<ulong, string>();
        var names = new Dictionary<ulong, string>(_types.Count);
        foreach (KeyValuePair<ulong, (string Name, ulong Module, int Token, ulong Element)> type in _types)
        {
            string name = type.Value.Name.Length > 0 ? type.Value.Name : Unknown(type.Key);
            names[type.Key] = Prefix(type.Key, modulePaths, metadata, prefixes, depth: 0) + name;
        }

        return names;
    }

    private string Prefix(ulong typeId, Dictionary<ulong, string> modulePaths, ModuleMetadata metadata, Dictionary<ulong, string> prefixes, int depth)
    {
        if (prefixes.TryGetValue(typeId, out string? known))
        {
            return known;
        }

        string prefix = string.Empty;
        if (depth < 32 && _types.TryGetValue(typeId, out var type) && type.Name.Length > 0)
        {
            if (type.Element != 0)
            {
                // An array is named after its element type: Inner[] is an array of Outer+Inner.
                prefix = Prefix(type.Element, modulePaths, metadata, prefixes, depth + 1);
            }
            else if (MaybeNested(type.Name) && modulePaths.TryGetValue(type.Module, out string? path))
            {
                prefix = metadata.DeclaringPrefix(path, type.Token) ?? string.Empty;
            }
        }

        prefixes[typeId] = prefix;
        return prefix;
    }

    // A nested type's own name has no namespace: only names without a dot before the generic arguments can be nested.
    private static bool MaybeNested(string name)
    {
        int bracket = name.IndexOf('[', StringComparison.Ordinal);
        return name.AsSpan(0, bracket < 0 ? name.Length : bracket).IndexOf('.') < 0;
    }
}
