using SafeRefs.Analyzers.CodeFixes;
using SafeRefs.Analyzers.Tests.Infrastructure;

namespace SafeRefs.Analyzers.Tests;

public sealed class WeakEventCapturingLambdaAnalyzerTests
{
    private const string Header = """
        using System;
        using SafeRefs.Events;

        public sealed class Source
        {
            public WeakEvent<EventArgs> Changed { get; } = new();
        }

        """;

    [Fact]
    public Task Analyzer_CapturingLambdaPassedToAdd_Reports() =>
        Verify.AnalyzerAsync<WeakEventCapturingLambdaAnalyzer>(Header + """
            public sealed class Listener
            {
                private int _count;

                public void Attach(Source source, string name)
                {
                    var prefix = "changed: ";
                    source.Changed.Add({|SR1002:(s, e) => _count++|});
                    source.Changed.Add({|SR1002:(s, e) => Console.WriteLine(prefix)|});
                    source.Changed.Add({|SR1002:delegate { Console.WriteLine(name); }|});
                }
            }
            """);

    [Fact]
    public Task Analyzer_LookAlikes_DoNotReport() =>
        Verify.AnalyzerAsync<WeakEventCapturingLambdaAnalyzer>(Header + """
            public sealed class Listener
            {
                private int _count;

                public void Attach(Source source)
                {
                    source.Changed.Add(OnChanged);
                    source.Changed.Add(static (s, e) => Console.WriteLine("changed"));
                    source.Changed.Add((s, e) => { var local = e; Console.WriteLine(local); });
                    source.Changed.Subscribe(this, static (owner, s, e) => owner._count++);
                    var handlers = new System.Collections.Generic.List<EventHandler<EventArgs>>();
                    handlers.Add((s, e) => _count++);
                }

                private void OnChanged(object? sender, EventArgs e) => _count++;
            }
            """);

    // The closure of a lambda holds what the local functions it calls capture; a local function passed as a method
    // group has the closure (or `this`) as its target.
    [Fact]
    public Task Analyzer_CapturesThroughLocalFunctions_Reports() =>
        Verify.AnalyzerAsync<WeakEventCapturingLambdaAnalyzer>(Header + """
            public sealed class Listener
            {
                private int _count;

                public void Attach(Source source, string name)
                {
                    var prefix = "changed: ";
                    void Log() => Console.WriteLine(prefix);
                    void Count() => _count++;
                    void Outer() => Inner();
                    void Inner() => Console.WriteLine(name);
                    void OnChanged(object? s, EventArgs e) => Console.WriteLine(prefix);

                    source.Changed.Add({|SR1002:(s, e) => Log()|});
                    source.Changed.Add({|SR1002:(s, e) => Count()|});
                    source.Changed.Add({|SR1002:(s, e) => Outer()|});
                    source.Changed.Add({|SR1002:OnChanged|});
                }
            }
            """);

    [Fact]
    public Task Analyzer_LocalFunctionsCapturingNothing_DoNotReport() =>
        Verify.AnalyzerAsync<WeakEventCapturingLambdaAnalyzer>(Header + """
            public sealed class Listener
            {
                public void Attach(Source source)
                {
                    void Write(string text) => Console.WriteLine(text);
                    static void OnStatic(object? s, EventArgs e) => Console.WriteLine("static");
                    void OnPlain(object? s, EventArgs e) => Write("plain");

                    source.Changed.Add((s, e) => Write("changed"));
                    source.Changed.Add(OnStatic);
                    source.Changed.Add(OnPlain);
                    source.Changed.Add(static (s, e) => Console.WriteLine("changed"));
                }
            }
            """);

    // The fix moves `this` in the lambda's own body to the owner parameter; it cannot reach into a local function.
    [Fact]
    public Task CodeFix_ThisCapturedThroughLocalFunction_NotOffered()
    {
        const string source = Header + """
            public sealed class Listener
            {
                private int _count;

                public void Attach(Source source)
                {
                    void Count() => _count++;
                    source.Changed.Add({|SR1002:(s, e) => Count()|});
                }
            }
            """;
        return Verify.CodeFixAsync<WeakEventCapturingLambdaAnalyzer, WeakEventSubscribeCodeFixProvider>(source, source, iterations: 0);
    }

    [Fact]
    public Task CodeFix_LambdaCapturingOnlyThis_RewritesToStaticSubscribe() =>
        Verify.CodeFixAsync<WeakEventCapturingLambdaAnalyzer, WeakEventSubscribeCodeFixProvider>(
            Header + """
            public sealed class Listener
            {
                private int _count;

                public void Attach(Source source)
                {
                    source.Changed.Add({|SR1002:(sender, e) => { _count++; this.Handle(e); }|});
                }

                private void Handle(EventArgs e) => Console.WriteLine(e);
            }
            """,
            Header + """
            public sealed class Listener
            {
                private int _count;

                public void Attach(Source source)
                {
                    source.Changed.Subscribe(this, static (owner, sender, e) => { owner._count++; owner.Handle(e); });
                }

                private void Handle(EventArgs e) => Console.WriteLine(e);
            }
            """);

    // SR1010 ------------------------------------------------------------------------------------------------------

    private const string FeedHeader = """
        using System;
        using SafeRefs.Subscriptions;

        public sealed class PriceFeed
        {
            public event EventHandler<EventArgs>? PriceChanged;

            public void Publish() => PriceChanged?.Invoke(this, EventArgs.Empty);
        }

        """;

    // The mistake the weak-core review found: writing the owner's field instead of the source parameter in the add or
    // remove lambda captures `this` (the owner), which the subscription then roots through the source. Capturing the
    // owner's local does the same.
    [Fact]
    public Task SR1010_AddOrRemoveLambdaCapturingTheOwner_Reports() =>
        Verify.AnalyzerAsync<WeakEventCapturingLambdaAnalyzer>(FeedHeader + """
            public sealed class Ticker
            {
                private readonly PriceFeed _feed;
                private int _ticks;

                public Ticker(PriceFeed feed)
                {
                    _feed = feed;
                    Subscribe.WeakEvent<PriceFeed, Ticker, EventArgs>(
                        _feed,
                        static (f, h) => f.PriceChanged += h,
                        {|SR1010:(f, h) => _feed.PriceChanged -= h|},
                        this,
                        static (owner, s, e) => owner._ticks++);
                }

                public int Ticks => _ticks;

                public static Ticker Watch(PriceFeed feed)
                {
                    var ticker = new Ticker(feed);
                    Subscribe.WeakEvent<PriceFeed, Ticker, EventArgs>(
                        feed,
                        {|SR1010:(f, h) => { GC.KeepAlive(ticker); f.PriceChanged += h; }|},
                        static (f, h) => f.PriceChanged -= h,
                        ticker,
                        static (owner, s, e) => owner._ticks++);
                    return ticker;
                }
            }
            """);

    // Any capture, not only the owner's: Subscribe.WeakEvent refuses every accessor whose delegate has a target (a
    // closure, 'this', an instance method group's receiver) with an ArgumentException, so each would fail at run time.
    [Fact]
    public Task SR1010_AnyCaptureOrInstanceMethodGroup_Reports_AsTheRunTimeCheckRefusesIt() =>
        Verify.AnalyzerAsync<WeakEventCapturingLambdaAnalyzer>(FeedHeader + """
            public sealed class Listener
            {
                public int Seen { get; set; }
            }

            public sealed class Hub
            {
                private int _removes;

                public void Attach(PriceFeed feed, Listener listener)
                {
                    var adds = 0;
                    Subscribe.WeakEvent<PriceFeed, Listener, EventArgs>(
                        feed,
                        {|SR1010:(f, h) => { adds++; f.PriceChanged += h; }|},
                        {|SR1010:(f, h) => { _removes++; f.PriceChanged -= h; }|},
                        listener,
                        static (owner, s, e) => owner.Seen++);
                    Subscribe.WeakEvent<PriceFeed, Listener, EventArgs>(
                        feed,
                        {|SR1010:AddCounted|},
                        {|SR1010:Remove|},
                        listener,
                        static (owner, s, e) => owner.Seen++);

                    void AddCounted(PriceFeed f, EventHandler<EventArgs> h)
                    {
                        adds++;
                        f.PriceChanged += h;
                    }
                }

                private void Remove(PriceFeed feed, EventHandler<EventArgs> handler) => feed.PriceChanged -= handler;
            }
            """);

    [Fact]
    public Task SR1010_StaticOrNonCapturingAccessors_DoNotReport() =>
        Verify.AnalyzerAsync<WeakEventCapturingLambdaAnalyzer>(FeedHeader + """
            public sealed class Ticker
            {
                private int _ticks;

                public Ticker(PriceFeed feed)
                {
                    Subscribe.WeakEvent<PriceFeed, Ticker, EventArgs>(feed, static (f, h) => f.PriceChanged += h, static (f, h) => f.PriceChanged -= h, this, static (owner, s, e) => owner._ticks++);
                    Subscribe.WeakEvent<PriceFeed, Ticker, EventArgs>(feed, (f, h) => f.PriceChanged += h, (f, h) => { f.PriceChanged -= h; }, this, static (owner, s, e) => owner._ticks++);
                    Subscribe.WeakEvent<PriceFeed, Ticker, EventArgs>(feed, Add, Remove, this, static (owner, s, e) => owner._ticks++);
                }

                private static void Add(PriceFeed feed, EventHandler<EventArgs> handler) => feed.PriceChanged += handler;

                private static void Remove(PriceFeed feed, EventHandler<EventArgs> handler) => feed.PriceChanged -= handler;
            }
            """);

    [Fact]
    public Task SR1010_CodeFix_UsesSourceParameterInStaticLambda() =>
        Verify.CodeFixAsync<WeakEventCapturingLambdaAnalyzer, WeakEventAccessorCodeFixProvider>(
            FeedHeader + """
            public sealed class Ticker
            {
                private readonly PriceFeed _feed;
                private int _ticks;

                public Ticker(PriceFeed feed)
                {
                    _feed = feed;
                    Subscribe.WeakEvent<PriceFeed, Ticker, EventArgs>(_feed, static (f, h) => f.PriceChanged += h, {|SR1010:(f, h) => _feed.PriceChanged -= h|}, this, static (owner, s, e) => owner._ticks++);
                }
            }
            """,
            FeedHeader + """
            public sealed class Ticker
            {
                private readonly PriceFeed _feed;
                private int _ticks;

                public Ticker(PriceFeed feed)
                {
                    _feed = feed;
                    Subscribe.WeakEvent<PriceFeed, Ticker, EventArgs>(_feed, static (f, h) => f.PriceChanged += h, static (f, h) => f.PriceChanged -= h, this, static (owner, s, e) => owner._ticks++);
                }
            }
            """);

    // A capture of the source's own variable (not the owner) is refused at run time too; the same fix applies.
    [Fact]
    public Task SR1010_CodeFix_AppliesToACaptureOfTheSourceVariable() =>
        Verify.CodeFixAsync<WeakEventCapturingLambdaAnalyzer, WeakEventAccessorCodeFixProvider>(
            FeedHeader + """
            public sealed class Listener
            {
                public int Seen { get; set; }

                public static void Watch(PriceFeed feed, Listener listener) =>
                    Subscribe.WeakEvent<PriceFeed, Listener, EventArgs>(feed, {|SR1010:(f, h) => feed.PriceChanged += h|}, static (f, h) => f.PriceChanged -= h, listener, static (owner, s, e) => owner.Seen++);
            }
            """,
            FeedHeader + """
            public sealed class Listener
            {
                public int Seen { get; set; }

                public static void Watch(PriceFeed feed, Listener listener) =>
                    Subscribe.WeakEvent<PriceFeed, Listener, EventArgs>(feed, static (f, h) => f.PriceChanged += h, static (f, h) => f.PriceChanged -= h, listener, static (owner, s, e) => owner.Seen++);
            }
            """);

    // Another object's event: rewriting the receiver would subscribe to a different source, so no fix is offered.
    [Fact]
    public Task SR1010_CodeFixForAnotherObjectsEvent_NotOffered()
    {
        const string source = FeedHeader + """
            public sealed class Ticker
            {
                private readonly PriceFeed _other;
                private int _ticks;

                public Ticker(PriceFeed feed, PriceFeed other)
                {
                    _other = other;
                    Subscribe.WeakEvent<PriceFeed, Ticker, EventArgs>(feed, static (f, h) => f.PriceChanged += h, {|SR1010:(f, h) => _other.PriceChanged -= h|}, this, static (owner, s, e) => owner._ticks++);
                }
            }
            """;
        return Verify.CodeFixAsync<WeakEventCapturingLambdaAnalyzer, WeakEventAccessorCodeFixProvider>(source, source, iterations: 0);
    }
}
