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
