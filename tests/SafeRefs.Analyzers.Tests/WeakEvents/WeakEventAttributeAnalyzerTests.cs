namespace SafeRefs.Analyzers.Tests.WeakEvents;

/// <summary>SR2001-SR2004: misuse of [WeakEvent] is reported with a clear message; valid events are quiet.</summary>
public sealed class WeakEventAttributeAnalyzerTests
{
    private const string Header = """
        using System;
        using SafeRefs.Events;

        namespace Demo;

        public delegate int Counter(object sender);

        public delegate void ByRef(ref int value);

        """;

    [Fact]
    public async Task ValidPartialEvents_AreQuiet()
    {
        var diagnostics = await GeneratorHarness.AnalyzeAsync(Header + """
            public sealed partial class Source
            {
                [WeakEvent] public partial event EventHandler? A;
                [WeakEvent] public static partial event Action<int>? B;
            }
            """);
        Assert.Empty(diagnostics);
    }

    [Fact]
    public async Task NotPartialEvent_SR2001()
    {
        var diagnostics = await GeneratorHarness.AnalyzeAsync(Header + """
            public sealed partial class Source
            {
                [WeakEvent] public event EventHandler? Plain;
            }
            """);
        Assert.Equal(("SR2001", "[WeakEvent] public event EventHandler? Plain;"), Assert.Single(diagnostics));
    }

    [Fact]
    public async Task TypeNotPartial_SR2002_NamesTheType()
    {
        var diagnostics = await GeneratorHarness.AnalyzeAsync(Header + """
            public sealed class Outer
            {
                public sealed partial class Source
                {
                    [WeakEvent] public partial event EventHandler? Changed;
                }
            }
            """);
        Assert.Contains(("SR2002", "[WeakEvent] public partial event EventHandler? Changed;"), diagnostics);
    }

    [Fact]
    public async Task NonVoidOrByRefDelegate_SR2003()
    {
        var diagnostics = await GeneratorHarness.AnalyzeAsync(Header + """
            public sealed partial class Source
            {
                [WeakEvent] public partial event Counter? Counted;
                [WeakEvent] public partial event ByRef? Referenced;
            }
            """);
        Assert.Contains(("SR2003", "[WeakEvent] public partial event Counter? Counted;"), diagnostics);
        Assert.Contains(("SR2003", "[WeakEvent] public partial event ByRef? Referenced;"), diagnostics);
    }

    [Fact]
    public async Task StructOrInterface_SR2004()
    {
        var diagnostics = await GeneratorHarness.AnalyzeAsync(Header + """
            public partial struct Value
            {
                [WeakEvent] public partial event EventHandler? Changed;
            }

            public partial interface ISource
            {
                [WeakEvent] event EventHandler? Changed;
            }
            """);
        Assert.Contains(("SR2004", "[WeakEvent] public partial event EventHandler? Changed;"), diagnostics);
        Assert.Contains(("SR2004", "[WeakEvent] event EventHandler? Changed;"), diagnostics);
    }
}
