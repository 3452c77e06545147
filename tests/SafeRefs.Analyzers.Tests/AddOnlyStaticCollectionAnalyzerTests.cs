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
}
