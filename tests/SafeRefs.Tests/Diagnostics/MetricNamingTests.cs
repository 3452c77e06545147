using System.Diagnostics.Metrics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using SafeRefs.Diagnostics;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Tests.Docs;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Diagnostics;

/// <summary>
/// Every instrument and attribute name SafeRefs publishes follows OpenTelemetry's naming rules and is in the
/// "Metrics reference" of docs/diagnostics.md, so that a new instrument can regress neither.
/// </summary>
public sealed partial class MetricNamingTests
{
    [Fact]
    public void EveryPublishedInstrument_FollowsTheNamingRules()
    {
        var instruments = PublishedInstruments();

        Assert.True(instruments.Count >= 17, $"Only {instruments.Count} instruments were published; the enumeration is broken.");
        var violations = instruments.SelectMany(i => MetricNameRules.InstrumentViolations(i.Name, IsUpDownCounter(i))).ToList();
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
        Assert.All(instruments, i => Assert.Matches(@"^\{[a-z_]+\}$", i.Unit));
    }

    [Fact]
    public void EveryPublishedInstrument_IsInTheMetricsReferenceWithItsKindAndUnit()
    {
        var documented = DocumentedInstruments();
        var published = PublishedInstruments().ToDictionary(i => i.Name, i => (Kind: KindName(i), Unit: $"`{i.Unit}`"));
        var redis = DeclaredNames(Path.Combine(DocSnippetTests.RepositoryRoot(), "src", "SafeRefs.Caching.Redis"));
        redis.ExceptWith(DocumentedAttributes()); // its instruments; its attributes are checked below

        Assert.NotEmpty(redis);
        Assert.Equal(published.Keys.Concat(redis).Order(StringComparer.Ordinal), documented.Keys.Order(StringComparer.Ordinal));
        Assert.All(published, p => Assert.Equal(p.Value, documented[p.Key]));
    }

    [Fact]
    public void EveryAttributeName_FollowsTheNamingRulesAndIsDocumented()
    {
        var attributes = typeof(MetricTags).GetFields(BindingFlags.NonPublic | BindingFlags.Static)
            .Where(f => f.IsLiteral)
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToList();

        Assert.True(attributes.Count >= 8, "MetricTags declares too few names; the enumeration is broken.");
        var violations = attributes.SelectMany(MetricNameRules.AttributeViolations).ToList();
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
        var redis = DeclaredNames(Path.Combine(DocSnippetTests.RepositoryRoot(), "src", "SafeRefs.Caching.Redis"));
        redis.ExceptWith(DocumentedInstruments().Keys); // the Redis channel's attributes
        Assert.NotEmpty(redis);
        violations = redis.SelectMany(MetricNameRules.AttributeViolations).ToList();
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
        Assert.Equal(attributes.Concat(redis).Order(StringComparer.Ordinal), DocumentedAttributes().Order(StringComparer.Ordinal));
    }

    [Fact]
    public void EveryNameLiteralInTheSources_FollowsTheNamingRules()
    {
        // Instruments or tags created outside the Metrics partials (another package, a new feature) are caught here.
        var names = DeclaredNames(Path.Combine(DocSnippetTests.RepositoryRoot(), "src"));

        Assert.Contains("saferefs.cache.entry.count", names);
        var violations = names.SelectMany(MetricNameRules.CommonViolations).ToList();
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    [Theory]
    [InlineData("saferefs.cache.entries", true)]               // up-down counter pluralised
    [InlineData("saferefs.timers.active", true)]               // plural namespace
    [InlineData("saferefs.weak_events.handlers", true)]
    [InlineData("saferefs.pool.leases.outstanding", true)]
    [InlineData("saferefs.subscriptions.detach_failed", false)]
    [InlineData("saferefs.cache.hits_total", false)]
    [InlineData("SafeRefs.cache.hits", false)]
    [InlineData("saferefs.cache..hits", false)]
    [InlineData("cache.hits", false)]
    public void InstrumentViolations_OldAndMalformedNames_AreReported(string name, bool isUpDownCounter)
    {
        Assert.NotEmpty(MetricNameRules.InstrumentViolations(name, isUpDownCounter));
    }

    [Theory]
    [InlineData("saferefs.cache.entry.count", true)]
    [InlineData("saferefs.timer.active", true)]
    [InlineData("saferefs.weak_event.handler.count", true)]
    [InlineData("saferefs.cache.hits", false)]                 // a counter of countable things is plural
    [InlineData("saferefs.cache.callback.failures", false)]
    public void InstrumentViolations_ConformingNames_AreAccepted(string name, bool isUpDownCounter)
    {
        Assert.Empty(MetricNameRules.InstrumentViolations(name, isUpDownCounter));
    }

    [Theory]
    [InlineData("event.name")]                                 // registered semantic-convention attribute
    [InlineData("reason")]
    [InlineData("saferefs.cache.eviction.reasons")]
    [InlineData("saferefs.timers.scope.name")]
    public void AttributeViolations_OldAndMalformedNames_AreReported(string name)
    {
        Assert.NotEmpty(MetricNameRules.AttributeViolations(name));
    }

    /// <summary>Every instrument on a <c>SafeRefs</c> meter of a fresh factory and on the static fallback meter.</summary>
    private static List<Instrument> PublishedInstruments()
    {
        using var factory = new TestMeterFactory();
        var instruments = new List<Instrument>();
        using var listener = new MeterListener();
        // The callback must not read Metrics.Shared: it runs while Metrics.Shared is being created (when this class
        // runs alone), where the holder's field is still null. The meters are told apart below, once created.
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Name == SafeRefsMeter.Name)
            {
                lock (instruments)
                {
                    instruments.Add(instrument);
                }
            }
        };
        listener.Start();

        _ = Metrics.For(factory);
        _ = Metrics.Shared;
        foreach (var holder in typeof(Metrics).GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic))
        {
            RuntimeHelpers.RunClassConstructor(holder.TypeHandle);   // static instruments (subscriptions, sweeps)
        }

        var shared = Metrics.Shared.Meter;
        lock (instruments)
        {
            // The static meter publishes each instrument once per set: keep one per name.
            return instruments.Where(i => i.Meter.Scope == factory || i.Meter == shared).DistinctBy(i => i.Name).ToList();
        }
    }

    private static bool IsUpDownCounter(Instrument instrument) => KindName(instrument).Contains("UpDownCounter", StringComparison.Ordinal);

    private static string KindName(Instrument instrument) => instrument.GetType().Name.Split('`')[0];

    /// <summary>The rows of the "Metrics reference" table: name to (kind, unit).</summary>
    private static Dictionary<string, (string Kind, string Unit)> DocumentedInstruments()
    {
        var rows = new Dictionary<string, (string, string)>();
        foreach (var cells in TableRows(Section("### Metrics reference")))
        {
            rows.Add(cells[0].Trim('`'), (cells[1], cells[2]));
        }

        return rows;
    }

    private static List<string> DocumentedAttributes() =>
        TableRows(Section("### Attributes and their cardinality")).Select(cells => cells[0].Trim('`')).ToList();

    private static string Section(string heading)
    {
        var text = File.ReadAllText(Path.Combine(DocSnippetTests.RepositoryRoot(), "docs", "diagnostics.md"));
        var start = text.IndexOf(heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"docs/diagnostics.md has no \"{heading}\" section.");
        var end = text.IndexOf("\n### ", start + heading.Length, StringComparison.Ordinal);
        return end < 0 ? text[start..] : text[start..end];
    }

    /// <summary>The body rows of the first table in <paramref name="section"/>, as trimmed cells.</summary>
    private static List<string[]> TableRows(string section) =>
        section.Split('\n')
            .SkipWhile(line => !line.StartsWith('|'))
            .TakeWhile(line => line.StartsWith('|'))
            .Skip(2)   // header and separator
            .Select(line => line.Trim('|').Split(" | ").Select(cell => cell.Trim()).ToArray())
            .ToList();

    /// <summary>
    /// Every <c>"saferefs.…"</c> string literal in the C# files under <paramref name="directory"/>, except the
    /// analyzers' (their <c>saferefs.</c> keys are .editorconfig options, not telemetry).
    /// </summary>
    private static HashSet<string> DeclaredNames(string directory) =>
        Directory.EnumerateFiles(directory, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("Analyzers", StringComparison.Ordinal))
            .SelectMany(f => NameLiteral().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .ToHashSet(StringComparer.Ordinal);

    [GeneratedRegex("\"(saferefs\\.[a-z][^\"]*)\"")]
    private static partial Regex NameLiteral();
}
