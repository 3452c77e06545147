using SafeRefs.Analyzers.Tests.Infrastructure;

namespace SafeRefs.Analyzers.Tests;

public sealed class AddOnlyStaticCollectionAnalyzerTests
{
    [Fact]
    public Task Analyzer_StaticCollectionsOnlyAddedTo_Reports() =>
        Verify.AnalyzerAsync<AddOnlyStaticCollectionAnalyzer>("""
            using System.Collections.Concurrent;
            using System.Collections.Generic;

            public static class Lookups
            {
                private static readonly Dictionary<string, int> {|SR1004:Lengths = new()|};
                private static readonly ConcurrentDictionary<string, string> {|SR1004:Upper = new()|};
                internal static List<string> {|SR1004:Seen = new()|};

                public static int Length(string key)
                {
                    if (!Lengths.TryGetValue(key, out var value))
                    {
                        value = key.Length;
                        Lengths[key] = value;
                    }

                    return value;
                }

                public static string ToUpper(string key) => Upper.GetOrAdd(key, static k => k.ToUpperInvariant());

                public static int Remember(string key)
                {
                    Seen.Add(key);
                    return Seen.Count;
                }
            }
            """);

    [Fact]
    public Task Analyzer_BoundedInitialisedInstanceOrEscapingCollections_DoNotReport() =>
        Verify.AnalyzerAsync<AddOnlyStaticCollectionAnalyzer>("""
            using System.Collections.Concurrent;
            using System.Collections.Generic;

            public sealed class Lookups
            {
                private static readonly ConcurrentDictionary<string, string> Evicted = new();
                private static readonly Dictionary<int, string> Table = new();
                private static readonly HashSet<string> Handed = new();
                private static List<string> s_reset = new();
                private readonly Dictionary<string, int> _perInstance = new();

                static Lookups()
                {
                    Table.Add(1, "one");
                    Table[2] = "two";
                }

                public static string Get(string key) => Evicted.GetOrAdd(key, static k => k);

                public static void Evict(string key) => Evicted.TryRemove(key, out _);

                public static string Name(int id) => Table[id];

                public static void Fill(string key)
                {
                    Handed.Add(key);
                    Register(Handed);
                }

                public static void Remember(string key)
                {
                    s_reset.Add(key);
                    if (s_reset.Count > 100)
                    {
                        s_reset = new List<string>();
                    }
                }

                public void Count(string key) => _perInstance[key] = key.Length;

                private static void Register(ISet<string> set) => set.Clear();
            }
            """);

    // Pattern 1: caches keyed by program metadata are bounded by the program, not by its input. Shapes from reflection
    // helpers, serializers and mappers: Type-keyed ConcurrentDictionary with GetOrAdd, keys that are MemberInfo,
    // Assembly, enums, bools, tuples of them, typeof(...), constants, nameof and [CallerMemberName] strings.
    private const string MetadataKeyedCaches = """
        using System;
        using System.Collections.Concurrent;
        using System.Collections.Generic;
        using System.Reflection;
        using System.Runtime.CompilerServices;

        public enum Format { Json, Xml }

        public static class Reflection
        {
            private static readonly ConcurrentDictionary<Type, PropertyInfo[]> Properties = new();
            private static readonly ConcurrentDictionary<(Type, Type), Func<object, object>> Converters = new();
            private static readonly Dictionary<MemberInfo, string> Names = new();
            private static readonly ConcurrentDictionary<Assembly, Type[]> Exported = new();
            private static readonly Dictionary<Format, string> Extensions = new();
            private static readonly ConcurrentDictionary<bool, string> Labels = new();
            private static readonly ConcurrentDictionary<string, int> PerCaller = new();
            private static readonly Dictionary<string, Type> ByTypeName = new();
            private static readonly HashSet<string> Warned = new();

            public static PropertyInfo[] Of(Type type) => Properties.GetOrAdd(type, static t => t.GetProperties());

            public static Func<object, object> Converter(Type from, Type to) => Converters.GetOrAdd((from, to), static _ => o => o);

            public static string NameOf(MemberInfo member)
            {
                if (!Names.TryGetValue(member, out var name))
                {
                    name = member.Name.ToUpperInvariant();
                    Names[member] = name;
                }

                return name;
            }

            public static Type[] ExportedBy(Assembly assembly) => Exported.GetOrAdd(assembly, static a => a.GetExportedTypes());

            public static string Extension(Format format)
            {
                if (!Extensions.TryGetValue(format, out var extension))
                {
                    extension = "." + format.ToString().ToLowerInvariant();
                    Extensions[format] = extension;
                }

                return extension;
            }

            public static string Label(bool on) => Labels.GetOrAdd(on, static b => b ? "on" : "off");

            public static int Count([CallerMemberName] string caller = "") => PerCaller.AddOrUpdate(caller, 1, static (_, n) => n + 1);

            public static void Remember<T>(T value) => ByTypeName[typeof(T).FullName!] = typeof(T);

            public static void WarnOnce()
            {
                Warned.Add("obsolete-api");
                Warned.Add(nameof(WarnOnce));
            }
        }
        """;

    [Fact]
    public Task Analyzer_CachesKeyedByProgramMetadata_DoNotReport() =>
        Verify.AnalyzerAsync<AddOnlyStaticCollectionAnalyzer>(MetadataKeyedCaches);

    [Fact]
    public Task Analyzer_CachesKeyedByProgramMetadataInStrictMode_Report() =>
        Verify.AnalyzerWithConfigAsync<AddOnlyStaticCollectionAnalyzer>(
            MetadataKeyedCaches
                .Replace("ConcurrentDictionary<Type, PropertyInfo[]> Properties = new()", "ConcurrentDictionary<Type, PropertyInfo[]> {|SR1004:Properties = new()|}", StringComparison.Ordinal)
                .Replace("Func<object, object>> Converters = new()", "Func<object, object>> {|SR1004:Converters = new()|}", StringComparison.Ordinal)
                .Replace("Dictionary<MemberInfo, string> Names = new()", "Dictionary<MemberInfo, string> {|SR1004:Names = new()|}", StringComparison.Ordinal)
                .Replace("Type[]> Exported = new()", "Type[]> {|SR1004:Exported = new()|}", StringComparison.Ordinal)
                .Replace("string> Extensions = new()", "string> {|SR1004:Extensions = new()|}", StringComparison.Ordinal)
                .Replace("string> Labels = new()", "string> {|SR1004:Labels = new()|}", StringComparison.Ordinal)
                .Replace("int> PerCaller = new()", "int> {|SR1004:PerCaller = new()|}", StringComparison.Ordinal)
                .Replace("Type> ByTypeName = new()", "Type> {|SR1004:ByTypeName = new()|}", StringComparison.Ordinal)
                .Replace("HashSet<string> Warned = new()", "HashSet<string> {|SR1004:Warned = new()|}", StringComparison.Ordinal),
            "saferefs.SR1004.mode = strict");

    // The leaky neighbours of pattern 1: a string-keyed cache filled from request data, a list of types (a list grows
    // with every add, whatever the key), a metadata-keyed cache next to a request-keyed one in the same class.
    [Fact]
    public Task Analyzer_RequestKeyedNeighboursOfMetadataCaches_Report() =>
        Verify.AnalyzerAsync<AddOnlyStaticCollectionAnalyzer>("""
            using System;
            using System.Collections.Concurrent;
            using System.Collections.Generic;

            public sealed record Request(string Path, string User);

            public static class Handlers
            {
                private static readonly ConcurrentDictionary<Type, string> TypeNames = new();
                private static readonly Dictionary<string, string> {|SR1004:ByPath = new()|};
                private static readonly ConcurrentDictionary<(Type, string), int> {|SR1004:PerUser = new()|};
                private static readonly List<Type> {|SR1004:Seen = new()|};

                public static string Handle(Request request, Type handler)
                {
                    TypeNames.GetOrAdd(handler, static t => t.Name);
                    ByPath[request.Path] = request.User;
                    PerUser.AddOrUpdate((handler, request.User), 1, static (_, n) => n + 1);
                    Seen.Add(handler);
                    return request.Path;
                }
            }
            """);

    // Pattern 2: registries filled at start-up: from a static constructor or initializer directly, through a private
    // helper called only from there, or through a registration API that refuses duplicates.
    private const string StartUpRegistries = """
        using System;
        using System.Collections.Generic;

        public interface ICodec
        {
            string Name { get; }
        }

        public sealed class Utf8Codec : ICodec
        {
            public string Name => "utf-8";
        }

        public static class Codecs
        {
            private static readonly Dictionary<string, ICodec> ByName = new(StringComparer.OrdinalIgnoreCase);
            private static readonly List<ICodec> All = CreateAll();
            private static readonly Dictionary<string, Func<ICodec>> Factories = new();
            private static readonly HashSet<string> Reserved = new();

            static Codecs()
            {
                Add(new Utf8Codec());
                AddAlias("utf8", new Utf8Codec());
            }

            public static void RegisterFactory(string name, Func<ICodec> factory) => Factories.Add(name, factory);

            public static void Reserve(string name)
            {
                if (!Reserved.Add(name))
                {
                    throw new ArgumentException("already reserved: " + name, nameof(name));
                }
            }

            public static ICodec Get(string name) => ByName[name];

            private static void Add(ICodec codec) => AddAlias(codec.Name, codec);

            private static void AddAlias(string name, ICodec codec) => ByName[name] = codec;

            private static List<ICodec> CreateAll()
            {
                var all = new List<ICodec>();
                all.Add(new Utf8Codec());
                return all;
            }
        }
        """;

    [Fact]
    public Task Analyzer_RegistriesFilledAtStartUp_DoNotReport() =>
        Verify.AnalyzerAsync<AddOnlyStaticCollectionAnalyzer>(StartUpRegistries);

    [Fact]
    public Task Analyzer_RegistriesFilledAtStartUpInStrictMode_Report() =>
        Verify.AnalyzerWithConfigAsync<AddOnlyStaticCollectionAnalyzer>(
            StartUpRegistries
                .Replace("ICodec> ByName = new(StringComparer.OrdinalIgnoreCase);", "ICodec> {|SR1004:ByName = new(StringComparer.OrdinalIgnoreCase)|};", StringComparison.Ordinal)
                .Replace("Func<ICodec>> Factories = new()", "Func<ICodec>> {|SR1004:Factories = new()|}", StringComparison.Ordinal)
                .Replace("HashSet<string> Reserved = new()", "HashSet<string> {|SR1004:Reserved = new()|}", StringComparison.Ordinal),
            "saferefs.SR1004.mode = strict");

    // The leaky neighbours of pattern 2: the same private helper also called from a per-call method, a helper passed
    // on as a delegate, and a registration that silently overwrites (an indexer write from a public method).
    [Fact]
    public Task Analyzer_RegistryHelpersReachableFromPerCallCode_Report() =>
        Verify.AnalyzerAsync<AddOnlyStaticCollectionAnalyzer>("""
            using System;
            using System.Collections.Generic;

            public static class Sessions
            {
                private static readonly Dictionary<string, DateTime> {|SR1004:Started = new()|};
                private static readonly Dictionary<string, string> {|SR1004:Tags = new()|};
                private static readonly Dictionary<string, object> {|SR1004:Items = new()|};

                static Sessions() => Track("boot");

                public static void Begin(string sessionId) => Track(sessionId);

                public static Action<string, string> Tagger() => Tag;

                public static void Put(string key, object value) => Items[key] = value;

                private static void Track(string id) => Started[id] = DateTime.UtcNow;

                private static void Tag(string id, string tag) => Tags[id] = tag;
            }
            """);
}
