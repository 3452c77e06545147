namespace SafeRefs.Analyzers.Tests.WeakEvents;

/// <summary>SR2001-SR2006: misuse of [WeakEvent] is reported with a clear message; valid events are quiet.</summary>
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
    public async Task BudgetNamingAStaticListenerBudget_IsQuiet()
    {
        var diagnostics = await GeneratorHarness.AnalyzeAsync(Header + """
            public class Budgets
            {
                protected static SafeRefs.Subscriptions.ListenerBudget Shared { get; } = new(5);
            }

            public sealed partial class Source : Budgets
            {
                private static readonly SafeRefs.Subscriptions.ListenerBudget Listeners = new(2);

                [WeakEvent(Budget = nameof(Listeners))] public partial event EventHandler? A;
                [WeakEvent(Budget = nameof(Shared))] public static partial event Action<int>? B;
            }
            """);
        Assert.Empty(diagnostics);
    }

    [Theory]
    [InlineData("Missing", "no member 'Missing' in 'Source'")]
    [InlineData("Instance", "'Instance' is not static")]
    [InlineData("Count", "'Count' is not of type ListenerBudget")]
    [InlineData("Make", "'Make' is not a field or a readable property")]
    [InlineData("not a name", "it is not an identifier")]
    public async Task BudgetNamingNoStaticListenerBudget_SR2005_SaysWhy(string budget, string reason)
    {
        var diagnostics = await GeneratorHarness.AnalyzeWithMessagesAsync(Header + $$"""
            public sealed partial class Source
            {
                private static readonly int Count = 1;
                private readonly SafeRefs.Subscriptions.ListenerBudget Instance = new(2);

                [WeakEvent(Budget = "{{budget}}")] public partial event EventHandler? Changed;

                private static SafeRefs.Subscriptions.ListenerBudget Make() => new(2);
            }
            """);
        var (id, message) = Assert.Single(diagnostics);
        Assert.Equal("SR2005", id);
        Assert.Contains(reason, message, StringComparison.Ordinal);
    }

    // C#'s lookup passes over a member the class cannot access: a private budget of a base class made the generated
    // initializer fail (CS0122). The twin's budget is protected.
    [Theory]
    [InlineData("private", "'Budgets.Limits' is not accessible in 'Source'")]
    [InlineData("protected", null)]
    public async Task BudgetOfABaseClass_SR2005_UnlessAccessible(string modifier, string? reason)
    {
        var source = Header + $$"""
            public class Budgets
            {
                {{modifier}} static readonly SafeRefs.Subscriptions.ListenerBudget Limits = new(5);

                public static int Max => Limits.MaxListeners;
            }

            public sealed partial class Source : Budgets
            {
                [WeakEvent(Budget = "Limits")] public partial event EventHandler? Changed;
            }
            """;

        var diagnostics = await GeneratorHarness.AnalyzeWithMessagesAsync(source);
        var (files, errors) = GeneratorHarness.Run(source);

        if (reason is null)
        {
            Assert.Empty(diagnostics);
            Assert.Empty(errors);
            Assert.Single(files);
        }
        else
        {
            var (id, message) = Assert.Single(diagnostics);
            Assert.Equal("SR2005", id);
            Assert.Contains(reason, message, StringComparison.Ordinal);
            Assert.Empty(files);
        }
    }

    // The options refuse an undefined enum value at run time, which would fail the class's static initializer: the
    // build says so instead. A defined value written as a cast is fine (the twin).
    [Theory]
    [InlineData("ExceptionMode = (HandlerExceptionMode)7", "ExceptionMode = 7: HandlerExceptionMode")]
    [InlineData("CapturingLambdaWithoutOwner = (ClosurePolicy)2", "CapturingLambdaWithoutOwner = 2: ClosurePolicy")]
    [InlineData("RaiseMethodAccessibility = (RaiseMethodAccessibility)(-1)", "RaiseMethodAccessibility = -1: RaiseMethodAccessibility")]
    public async Task UndefinedOptionValue_SR2006_NamesTheOption(string option, string expected)
    {
        var diagnostics = await GeneratorHarness.AnalyzeWithMessagesAsync(Header + $$"""
            public sealed partial class Source
            {
                [WeakEvent({{option}})] public partial event EventHandler? Changed;
            }
            """);
        var (id, message) = Assert.Single(diagnostics);
        Assert.Equal("SR2006", id);
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DefinedOptionValuesWrittenAsCasts_AreQuiet()
    {
        var diagnostics = await GeneratorHarness.AnalyzeAsync(Header + """
            public sealed partial class Source
            {
                [WeakEvent(ExceptionMode = (HandlerExceptionMode)1, CapturingLambdaWithoutOwner = (ClosurePolicy)1, RaiseMethodAccessibility = (RaiseMethodAccessibility)6)]
                public partial event EventHandler? Changed;
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
