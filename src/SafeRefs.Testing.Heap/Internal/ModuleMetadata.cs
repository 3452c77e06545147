using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace SafeRefs.Testing.Internal;

/// <summary>
/// Reads the metadata of the modules a heap walk met, to recover what its events leave out: the declaring types of a
/// nested type (the runtime names <c>Outer+Inner</c> just <c>Inner</c>) and the type that declares a static field
/// (the runtime names only the field). One instance per walk; it opens each module file at most once.
/// </summary>
internal sealed class ModuleMetadata : IDisposable
{
    private readonly Dictionary<string, PEReader?> _readers = new(StringComparer.Ordinal);
    private readonly IReadOnlyCollection<string> _allPaths;
    private Dictionary<string, List<(string Owner, string FieldType)>>? _staticFields;

    public ModuleMetadata(IReadOnlyCollection<string> allPaths) => _allPaths = allPaths;

    /// <summary>
    /// The declaring types of the type definition <paramref name="token"/> in <paramref name="modulePath"/>, as a prefix
    /// (<c>Ns.Outer+</c>), or <see langword="null"/> when the type is not nested or the module cannot be read.
    /// </summary>
    public string? DeclaringPrefix(string modulePath, int token)
    {
        MetadataReader? reader = Reader(modulePath);
        if (reader is null || (token >>> 24) != 0x02 || (token & 0xFF_FFFF) == 0 || (token & 0xFF_FFFF) > reader.TypeDefinitions.Count)
        {
            return null;
        }

        TypeDefinition type = reader.GetTypeDefinition(MetadataTokens.TypeDefinitionHandle(token & 0xFF_FFFF));
        if (!type.IsNested)
        {
            return null;
        }

        return FullName(reader, type.GetDeclaringType()) + "+";
    }

    /// <summary>
    /// The types that declare a static field named <paramref name="fieldName"/>, across every module of the walk;
    /// split by whether the field's declared type has the simple name <paramref name="objectTypeSimpleName"/>.
    /// </summary>
    public (List<string> Matching, List<string> Others) StaticFieldOwners(string fieldName, string objectTypeSimpleName)
    {
        _staticFields ??= IndexStaticFields();
        var matching = new List<string>();
        var others = new List<string>();
        if (_staticFields.TryGetValue(fieldName, out List<(string Owner, string FieldType)>? fields))
        {
            foreach ((string owner, string fieldType) in fields)
            {
                (string.Equals(fieldType, objectTypeSimpleName, StringComparison.Ordinal) ? matching : others).Add(owner);
            }
        }

        return (matching, others);
    }

    private Dictionary<string, List<(string Owner, string FieldType)>> IndexStaticFields()
    {
        var index = new Dictionary<string, List<(string Owner, string FieldType)>>(StringComparer.Ordinal);
        foreach (string path in _allPaths)
        {
            MetadataReader? reader = Reader(path);
            if (reader is null)
            {
                continue;
            }

            foreach (FieldDefinitionHandle handle in reader.FieldDefinitions)
            {
                FieldDefinition field = reader.GetFieldDefinition(handle);
                if ((field.Attributes & FieldAttributes.Static) == 0 || (field.Attributes & FieldAttributes.Literal) != 0)
                {
                    continue;
                }

                string name = reader.GetString(field.Name);
                if (!index.TryGetValue(name, out List<(string Owner, string FieldType)>? list))
                {
                    list = [];
                    index[name] = list;
                }

                list.Add((FullName(reader, field.GetDeclaringType()), FieldTypeSimpleName(reader, field)));
            }
        }

        return index;
    }

    public void Dispose()
    {
        foreach (PEReader? reader in _readers.Values)
        {
            reader?.Dispose();
        }

        _readers.Clear();
    }

    private MetadataReader? Reader(string path)
    {
        if (!_readers.TryGetValue(path, out PEReader? pe))
        {
            pe = Open(path);
            _readers[path] = pe;
        }

        return pe is not null && pe.HasMetadata ? pe.GetMetadataReader() : null;
    }

    private static PEReader? Open(string path)
    {
        if (path.Length == 0 || !File.Exists(path))
        {
            return null;
        }

        try
        {
            return new PEReader(File.OpenRead(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or BadImageFormatException)
        {
            return null;
        }
    }

    private static string FullName(MetadataReader reader, TypeDefinitionHandle handle)
    {
        TypeDefinition type = reader.GetTypeDefinition(handle);
        string name = reader.GetString(type.Name);
        if (type.IsNested)
        {
            return FullName(reader, type.GetDeclaringType()) + "+" + name;
        }

        string ns = reader.GetString(type.Namespace);
        return ns.Length == 0 ? name : ns + "." + name;
    }

    // The simple name of a field's declared type (EventHandler`1 for EventHandler<decimal>), or empty for a type the
    // signature does not name that way (arrays, pointers, primitives other than object and string).
    private static string FieldTypeSimpleName(MetadataReader reader, FieldDefinition field)
    {
        try
        {
            BlobReader blob = reader.GetBlobReader(field.Signature);
            if (blob.ReadSignatureHeader().Kind != SignatureKind.Field)
            {
                return string.Empty;
            }

            SignatureTypeCode code = blob.ReadSignatureTypeCode();
            while (code is SignatureTypeCode.RequiredModifier or SignatureTypeCode.OptionalModifier)
            {
                _ = blob.ReadTypeHandle();
                code = blob.ReadSignatureTypeCode();
            }

            if (code == SignatureTypeCode.GenericTypeInstance)
            {
                code = blob.ReadSignatureTypeCode();
            }

            return code switch
            {
                SignatureTypeCode.Object => "Object",
                SignatureTypeCode.String => "String",
                SignatureTypeCode.TypeHandle => HandleName(reader, blob.ReadTypeHandle()),
                _ => string.Empty,
            };
        }
        catch (BadImageFormatException)
        {
            return string.Empty;
        }
    }

    private static string HandleName(MetadataReader reader, EntityHandle handle) =>
        handle.Kind switch
        {
            HandleKind.TypeDefinition => reader.GetString(reader.GetTypeDefinition((TypeDefinitionHandle)handle).Name),
            HandleKind.TypeReference => reader.GetString(reader.GetTypeReference((TypeReferenceHandle)handle).Name),
            _ => string.Empty,
        };
}
