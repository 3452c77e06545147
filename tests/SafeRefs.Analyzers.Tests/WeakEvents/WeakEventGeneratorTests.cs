namespace SafeRefs.Analyzers.Tests.WeakEvents;

/// <summary>
/// Snapshot tests: the generated text for each delegate shape, compared with <c>Snapshots/*.g.cs</c>, and the
/// compilation with the generated code has no errors or warnings. Set SAFEREFS_UPDATE_SNAPSHOTS=1 to rewrite them.
/// The test compiler is Roslyn 4.14, whose preview partial events overflow the stack when the type also implements an
/// interface event: these sources leave the interfaces out (tests/SafeRefs.Tests compiles them with the SDK's compiler).
/// </summary>
public sealed class WeakEventGeneratorTests
{
    private const string Header = """
        using System;
        using System.Collections.Generic;
        using System.Collections.Specialized;
        using System.ComponentModel;
        using SafeRefs.Events;

        namespace Demo;

        """;

    [Fact]
    public void GenericEventHandler_SealedClass_WeakEventAndPrivateRaise() => Check("GenericEventHandler", Header + """
        public sealed partial class Thermometer
        {
            /// <summary>Raised when the temperature changes.</summary>
            [WeakEvent]
            public partial event EventHandler<double>? Changed;
        }
        """);

    [Fact]
    public void EventHandler_OpenClass_ProtectedRaiseWithOptions() => Check("EventHandler", Header + """
        public partial class Clock
        {
            [WeakEvent(CapturingLambdaWithoutOwner = ClosurePolicy.Allow, ExceptionMode = HandlerExceptionMode.ContinueAndAggregate)]
            public partial event EventHandler? Ticked;
        }
        """);

    [Fact]
    public void StaticEvent_WithBudget_OptionsUseTheNamedBudget() => Check("Budget", Header + """
        public static partial class Alarms
        {
            private static readonly SafeRefs.Subscriptions.ListenerBudget Listeners = new(maxListeners: 20);

            [WeakEvent(Budget = nameof(Listeners))]
            public static partial event EventHandler<string>? Raised;
        }
        """);

    [Fact]
    public void PropertyChanged_CallerMemberNameHelper() => Check("PropertyChanged", Header + """
        public partial class Model
        {
            [WeakEvent]
            public partial event PropertyChangedEventHandler? PropertyChanged;
        }
        """);

    [Fact]
    public void CollectionChanged_RaiseWithArgs() => Check("CollectionChanged", Header + """
        public sealed partial class Items
        {
            [WeakEvent(RaiseMethodAccessibility = RaiseMethodAccessibility.Internal)]
            public partial event NotifyCollectionChangedEventHandler? CollectionChanged;
        }
        """);

    [Fact]
    public void CustomDelegate_StaticEventInNestedGenericType_RaiseWithTheDelegatesParameters() => Check("CustomDelegate", Header + """
        public delegate void PriceHandler(string symbol, decimal price);

        public static partial class Markets
        {
            internal sealed partial class Feed<T>
            {
                [WeakEvent(RaiseMethodName = "Publish")]
                public partial event PriceHandler? PriceChanged;

                [WeakEvent]
                internal static partial event Action? Opened;

                [WeakEvent]
                public partial event Action<T>? Received;
            }
        }
        """);

    // An undefined option value is reported (SR2006) rather than written into the options' static initializer, where it
    // would throw at the class's first use; the twin writes a defined value given as a cast by its name.
    [Theory]
    [InlineData("(HandlerExceptionMode)7", false)]
    [InlineData("(HandlerExceptionMode)1", true)]
    public void OptionValue_OnlyADefinedOneIsGenerated(string exceptionMode, bool generated)
    {
        var (files, _) = GeneratorHarness.Run(Header + $$"""
            public sealed partial class Clock
            {
                [WeakEvent(ExceptionMode = {{exceptionMode}})]
                public partial event EventHandler? Ticked;
            }
            """);

        if (generated)
        {
            Assert.Contains("ExceptionMode = global::SafeRefs.Events.HandlerExceptionMode.ContinueAndAggregate,", Assert.Single(files).Source, StringComparison.Ordinal);
        }
        else
        {
            Assert.Empty(files);
        }
    }

    // The generated code re-declares each container of the event's class with that container's own kind: a class
    // nested in a struct, record struct or interface was put in a "partial class" of the same name (CS0261). The class
    // containers are the twins.
    [Theory]
    [InlineData("partial struct")]
    [InlineData("readonly partial struct")]
    [InlineData("ref partial struct")]
    [InlineData("partial record struct")]
    [InlineData("partial interface")]
    [InlineData("partial class")]
    [InlineData("static partial class")]
    [InlineData("partial record")]
    [InlineData("partial record class")]
    public void NestedClass_EachContainerKeepsItsKind(string container)
    {
        var (files, diagnostics) = GeneratorHarness.Run(Header + $$"""
            public {{container}} Outer
            {
                public sealed partial class Inner
                {
                    [WeakEvent]
                    public partial event EventHandler? Changed;
                }
            }
            """);

        Assert.Empty(diagnostics);
        Assert.Single(files);
    }

    // Names written with '@' (keywords) are written escaped in the generated code and left out of its file name: the
    // generator threw (CS8785). A plain name is the twin.
    [Theory]
    [InlineData("public sealed partial class @class")]
    [InlineData("public sealed partial class Clock<@event>")]
    [InlineData("public sealed partial class Clock<T>")]
    public void EscapedNames_GeneratedCodeCompiles(string declaration)
    {
        var (files, diagnostics) = GeneratorHarness.Run(Header + $$"""
            {{declaration}}
            {
                [WeakEvent]
                public partial event EventHandler? Changed;
            }
            """);

        Assert.Empty(diagnostics);
        Assert.DoesNotContain("@", Assert.Single(files).HintName, StringComparison.Ordinal);
    }

    // Roslyn compares hint names ignoring case: two types or two events whose names differ only in case made the
    // generator fail (CS8785), leaving every weak event of the compilation unimplemented. The twin has other names.
    [Theory]
    [InlineData("clock", "Changed")]
    [InlineData("Clock", "CHANGED")]
    [InlineData("Timer", "Changed")]
    public void NamesDifferingOnlyInCase_EveryEventGenerated(string otherType, string otherEvent)
    {
        var (files, diagnostics) = GeneratorHarness.Run(Header + $$"""
            public sealed partial class Clock
            {
                [WeakEvent]
                public partial event EventHandler? Changed;
            }

            public sealed partial class {{otherType}}
            {
                [WeakEvent]
                public partial event EventHandler? {{otherEvent}};
            }

            public sealed partial class Unrelated
            {
                [WeakEvent]
                public partial event EventHandler? Ticked;
            }
            """);

        Assert.Empty(diagnostics);
        Assert.Equal(3, files.Length);
    }

    // A file-local type cannot have a part in the generated file: reported (SR2004) instead of generated code that
    // leaves the partial event unimplemented. The twin, an ordinary class in the same place, is generated.
    [Theory]
    [InlineData("file sealed partial class Clock", true)]
    [InlineData("sealed partial class Clock", false)]
    public async Task FileLocalType_ReportedNotGenerated(string declaration, bool fileLocal)
    {
        var source = Header + $$"""
            {{declaration}}
            {
                [WeakEvent]
                public partial event EventHandler? Changed;
            }
            """;

        await AssertReportedNotGenerated(source, fileLocal);
    }

    // A member of the class that the generated code would declare again (a field's name, or the raise method's name
    // with its parameter types) is reported (SR2004) instead of compiler errors inside the generated file. The twins,
    // legal overloads and near names, are generated and compile.
    [Theory]
    [InlineData("", "EventHandler", "private void OnChanged(EventArgs? e) { }", true)]
    [InlineData("", "EventHandler", "private static int OnChanged(EventArgs e) => 0;", true)]
    [InlineData("", "EventHandler", "public int OnChanged { get; set; }", true)]
    [InlineData("", "EventHandler", "public int _changedWeakEvent = 1;", true)]
    [InlineData("", "EventHandler", "public static int s_changedWeakEventOptions = 1;", true)]
    [InlineData("", "EventHandler<double>", "private void OnChanged(double e) { }", true)]
    [InlineData("", "PropertyChangedEventHandler", "private void OnChanged(string? name) { }", true)]
    [InlineData("", "PropertyChangedEventHandler", "private void OnChanged(PropertyChangedEventArgs e) { }", true)]
    [InlineData("", "Tick", "private void OnChanged(int count, string label) { }", true)]
    [InlineData("", "EventHandler<(int Low, int High)>", "private void OnChanged((int, int) e) { }", true)]
    [InlineData("", "EventHandler<(int Low, int High)>", "private void OnChanged((int A, int B) e) { }", true)]
    [InlineData("", "EventHandler<object>", "private void OnChanged(dynamic e) { }", true)]
    [InlineData("", "EventHandler<List<object>>", "private void OnChanged(List<dynamic> e) { }", true)]
    [InlineData("", "EventHandler<string?>", "private void OnChanged(string e) { }", true)]
    [InlineData("", "EventHandler<List<string?>>", "private void OnChanged(List<string> e) { }", true)]
    [InlineData("", "EventHandler<nint>", "private void OnChanged(IntPtr e) { }", true)]
    [InlineData("", "Tick", "private void OnChanged(int count, string? label) { }", true)]
    [InlineData("", "EventHandler", "private void OnChanged(string message) { }", false)]
    [InlineData("", "EventHandler", "private void OnChanged<T>(EventArgs e) { }", false)]
    [InlineData("", "EventHandler", "private void OnChanged(ref EventArgs e) { }", false)]
    [InlineData("", "EventHandler", "public int _changedWeakEventCount = 1;", false)]
    [InlineData("(RaiseMethodName = \"RaiseChanged\")", "EventHandler", "private void OnChanged(EventArgs? e) { }", false)]
    [InlineData("", "EventHandler<double>", "private void OnChanged(int e) { }", false)]
    [InlineData("", "PropertyChangedEventHandler", "private void OnChanged(object name) { }", false)]
    [InlineData("", "Tick", "private void OnChanged(int count) { }", false)]
    [InlineData("", "EventHandler<(int Low, int High)>", "private void OnChanged((int, long) e) { }", false)]
    [InlineData("", "EventHandler<List<object>>", "private void OnChanged(List<string> e) { }", false)]
    [InlineData("", "EventHandler<int>", "private void OnChanged(int? e) { }", false)]
    public async Task MemberTheGeneratorWrites_ReportedNotGenerated(string options, string handler, string member, bool collides)
    {
        var source = Header + $$"""
            public delegate void Tick(int count, string label);

            public sealed partial class Clock
            {
                [WeakEvent{{options}}]
                public partial event {{handler}}? Changed;

                {{member}}
            }
            """;

        await AssertReportedNotGenerated(source, collides);
    }

    // A member of a base class that the generated code would hide (an accessible one with a generated field's name,
    // or with the raise method's name and parameter types) is reported (SR2004) instead of a CS0108/CS0114 warning
    // inside the generated file, which fails a build with warnings as errors. The twins, a private member, an
    // overload and a renamed raise method, are generated and compile without warnings.
    [Theory]
    [InlineData("", "EventHandler", "protected void OnChanged(EventArgs? e) { }", true)]
    [InlineData("", "EventHandler", "protected virtual void OnChanged(EventArgs e) { }", true)]
    [InlineData("", "EventHandler", "internal static int OnChanged(EventArgs e) => 0;", true)]
    [InlineData("", "EventHandler", "public int OnChanged { get; set; }", true)]
    [InlineData("", "EventHandler", "protected int _changedWeakEvent;", true)]
    [InlineData("", "EventHandler<(int Low, int High)>", "protected void OnChanged((int, int) e) { }", true)]
    [InlineData("", "PropertyChangedEventHandler", "protected void OnChanged(string name) { }", true)]
    [InlineData("", "EventHandler", "private void OnChanged(EventArgs? e) { }", false)]
    [InlineData("", "EventHandler", "private int _changedWeakEvent = 1; public int Read() => _changedWeakEvent;", false)]
    [InlineData("", "EventHandler", "protected void OnChanged(string message) { }", false)]
    [InlineData("", "EventHandler", "protected void OnChanged<T>(EventArgs e) { }", false)]
    [InlineData("(RaiseMethodName = \"RaiseChanged\")", "EventHandler", "protected virtual void OnChanged(EventArgs e) { }", false)]
    public async Task BaseMemberTheGeneratorWouldHide_ReportedNotGenerated(string options, string handler, string member, bool hides)
    {
        var source = Header + $$"""
            public class Device
            {
                {{member}}
            }

            public partial class Clock : Device
            {
                [WeakEvent{{options}}]
                public partial event {{handler}}? Changed;
            }
            """;

        await AssertReportedNotGenerated(source, hides);
    }

    // Two weak events of a class, or of a class and its base, whose generated members would collide: both (or the
    // derived one) are reported (SR2004) by the generator's check as by the analyzer's, instead of compiler errors or
    // warnings in the generated files (the generator, which does not see generated code, wrote them; the analyzer,
    // which does, reported both). The twins, overloads and other names, are generated and compile.
    [Theory]
    [InlineData("(RaiseMethodName = \"Notify\")] public partial event EventHandler? Started;", "(RaiseMethodName = \"Notify\")] public partial event EventHandler? Stopped;", true)]
    [InlineData("] public partial event EventHandler? Changed;", "] public partial event EventHandler? changed;", true)]
    [InlineData("(RaiseMethodName = \"_stoppedWeakEvent\")] public partial event EventHandler? Started;", "] public partial event EventHandler? Stopped;", true)]
    [InlineData("(RaiseMethodName = \"Notify\")] public partial event EventHandler? Started;", "(RaiseMethodName = \"Notify\")] public partial event EventHandler<int>? Stopped;", false)]
    [InlineData("] public partial event EventHandler? Changed;", "] public partial event EventHandler? Stopped;", false)]
    public async Task GeneratedMembersOfTwoWeakEvents_BothReportedNotGenerated(string first, string second, bool collide)
    {
        var source = Header + $$"""
            public partial class Clock
            {
                [WeakEvent{{first}}

                [WeakEvent{{second}}
            }
            """;

        await AssertOutcome(source, generated: collide ? 0 : 2, reported: collide ? 2 : 0);
    }

    // A base class's weak event generates a raise method a derived class's weak event would hide: the derived one is
    // reported. The twin's base raise method is private, which nothing hides.
    [Theory]
    [InlineData("", true)]
    [InlineData("(RaiseMethodAccessibility = RaiseMethodAccessibility.Private)", false)]
    public async Task RaiseMethodOfABaseWeakEvent_HiddenIsReported(string baseOptions, bool hidden)
    {
        var source = Header + $$"""
            public partial class Device
            {
                [WeakEvent{{baseOptions}}]
                public partial event EventHandler? Changed;
            }

            public sealed partial class Clock : Device
            {
                [WeakEvent(RaiseMethodName = "OnChanged")]
                public partial event EventHandler? Ticked;
            }
            """;

        await AssertOutcome(source, generated: hidden ? 1 : 2, reported: hidden ? 1 : 0);
    }

    // A RaiseMethodName that is a keyword is written escaped: the generated file did not parse. The twin is a plain name.
    [Theory]
    [InlineData("event")]
    [InlineData("Notify")]
    public void RaiseMethodName_Keyword_GeneratedCodeCompiles(string raise)
    {
        var (files, diagnostics) = GeneratorHarness.Run(Header + $$"""
            public partial class Clock
            {
                [WeakEvent(RaiseMethodName = "{{raise}}")]
                public partial event EventHandler? Started;

                public void Start() => @{{raise}}();
            }
            """);

        Assert.Empty(diagnostics);
        Assert.Single(files);
    }

    // A RaiseMethodName that is not an identifier is reported (SR2004) by the one check, and the event is not
    // generated: it fell back to OnStarted without a word. The twins, a plain name and a keyword (written escaped), are
    // generated and compile.
    [Theory]
    [InlineData("On X", true)]
    [InlineData("1Raise", true)]
    [InlineData("", true)]
    [InlineData("Notify", false)]
    [InlineData("event", false)]
    public async Task RaiseMethodName_NotAnIdentifier_ReportedNotGenerated(string raise, bool invalid)
    {
        var source = Header + $$"""
            public partial class Clock
            {
                [WeakEvent(RaiseMethodName = "{{raise}}")]
                public partial event EventHandler? Started;
            }
            """;

        await AssertReportedNotGenerated(source, invalid);
        if (invalid)
        {
            var (_, message) = Assert.Single(await GeneratorHarness.AnalyzeWithMessagesAsync(source));
            Assert.Contains($"RaiseMethodName \"{raise}\" is not an identifier", message, StringComparison.Ordinal);
        }
    }

    // A verbatim name, as a C# user writes one, names the identifier after the '@' (written escaped if a keyword);
    // a lone '@' or one before a non-identifier is still no name.
    [Theory]
    [InlineData("@event", false)]
    [InlineData("@Notify", false)]
    [InlineData("@", true)]
    [InlineData("@1x", true)]
    public async Task RaiseMethodName_Verbatim_NamesTheIdentifier(string raise, bool invalid)
    {
        var source = Header + $$"""
            public partial class Clock
            {
                [WeakEvent(RaiseMethodName = "{{raise}}")]
                public partial event EventHandler? Started;

                public void Start() => {{(invalid ? "_ = 0" : raise + "()")}};
            }
            """;

        await AssertReportedNotGenerated(source, invalid);
        if (invalid)
        {
            var (_, message) = Assert.Single(await GeneratorHarness.AnalyzeWithMessagesAsync(source));
            Assert.Contains($"RaiseMethodName \"{raise}\" is not an identifier", message, StringComparison.Ordinal);
        }
    }

    // A raise method named as its class (CS0542) or as one of the class's type parameters (CS0102) cannot be
    // declared, nor can the default On<Event> in a class of that name. The twins: a near name, and the name of an
    // enclosing class or of its type parameter.
    [Theory]
    [InlineData("Clock", "Clock", true)]
    [InlineData("Clock<T>", "Clock", true)]
    [InlineData("Clock<TValue>", "TValue", true)]
    [InlineData("Clock", "Clocks", false)]
    [InlineData("Clock<TValue>", "Value", false)]
    [InlineData("Clock", "Outer", false)]
    [InlineData("Clock", "TOuter", false)]
    [InlineData("OnStarted", null, true)]
    [InlineData("OnStart", null, false)]
    public async Task RaiseMethodName_ClassOrTypeParameterName_Reported(string declaration, string? raise, bool reported)
    {
        var source = Header + $$"""
            public partial class Outer<TOuter>
            {
                public partial class {{declaration}}
                {
                    [WeakEvent{{(raise is null ? "" : $"(RaiseMethodName = \"{raise}\")")}}]
                    public partial event EventHandler? Started;
                }
            }
            """;

        await AssertReportedNotGenerated(source, reported);
    }

    // A raise method named as the event's own generated field or options field would be declared twice (CS0102). The
    // twins: names near them.
    [Theory]
    [InlineData("_startedWeakEvent", true)]
    [InlineData("s_startedWeakEventOptions", true)]
    [InlineData("_startedWeakEvents", false)]
    [InlineData("startedWeakEvent", false)]
    public async Task RaiseMethodName_OwnGeneratedFieldName_Reported(string raise, bool reported)
    {
        var source = Header + $$"""
            public partial class Clock
            {
                [WeakEvent(RaiseMethodName = "{{raise}}")]
                public partial event EventHandler? Started;
            }
            """;

        await AssertReportedNotGenerated(source, reported);
    }

    // An event being retired, obsolete with its args or delegate type: the generated members name the type outside
    // the obsolete event (CS0618 in the generated file, an error where warnings are errors). The twin's type is current.
    [Theory]
    [InlineData("[Obsolete(\"Use Updated.\")]", "EventHandler<OldArgs>")]
    [InlineData("[Obsolete]", "OldHandler")]
    [InlineData("", "EventHandler<OldArgs>")]
    public void ObsoleteEventTypes_GeneratedCodeCompiles(string obsolete, string handler)
    {
        var (files, diagnostics) = GeneratorHarness.Run(Header + $$"""
            {{obsolete}}
            public sealed class OldArgs : EventArgs;

            {{obsolete}}
            public delegate void OldHandler(OldArgs e);

            public sealed partial class Clock
            {
                {{obsolete}}
                [WeakEvent]
                public partial event {{handler}}? Changed;
            }
            """);

        Assert.Empty(diagnostics);
        Assert.Single(files);
    }

    // Reported as SR2004 and not generated; or generated, compiling without warnings, and not reported.
    private static Task AssertReportedNotGenerated(string source, bool reported) =>
        AssertOutcome(source, generated: reported ? 0 : 1, reported: reported ? 1 : 0);

    // So many files generated and SR2004s reported; nothing generated fails to compile, and nothing at all if none is
    // reported (a reported event is left unimplemented: CS9275 in the source).
    private static async Task AssertOutcome(string source, int generated, int reported)
    {
        var (files, diagnostics) = GeneratorHarness.Run(source);
        var found = await GeneratorHarness.AnalyzeAsync(source);

        Assert.Equal(generated, files.Length);
        Assert.Equal(reported, found.Count(d => d.Id == "SR2004"));
        Assert.DoesNotContain(diagnostics, d => d.Location.SourceTree?.FilePath != "Source.cs");
        if (reported == 0)
        {
            Assert.Empty(diagnostics);
            Assert.Empty(found);
        }
    }

    private static void Check(string name, string source)
    {
        var (files, diagnostics) = GeneratorHarness.Run(source);
        Assert.Empty(diagnostics);
        Assert.NotEmpty(files);
        var actual = string.Join("\n", files.OrderBy(f => f.HintName, StringComparer.Ordinal).Select(f => $"// ==== {f.HintName}\n{f.Source.Replace("\r\n", "\n", StringComparison.Ordinal)}"));
        var path = Path.Combine(RepositoryRoot(), "tests", "SafeRefs.Analyzers.Tests", "WeakEvents", "Snapshots", name + ".g.cs.txt");
        if (Environment.GetEnvironmentVariable("SAFEREFS_UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(path, actual);
        }

        Assert.True(File.Exists(path), $"No snapshot {path}: run with SAFEREFS_UPDATE_SNAPSHOTS=1 and review it.");
        Assert.Equal(File.ReadAllText(path).Replace("\r\n", "\n", StringComparison.Ordinal), actual);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "SafeRefs.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("SafeRefs.sln not found above " + AppContext.BaseDirectory);
    }
}
