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
}
