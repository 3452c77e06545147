using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;
using SafeRefs.Analyzers.Forwarders;
using SafeRefs.Analyzers.Tests.Infrastructure;

namespace SafeRefs.Analyzers.Tests.Forwarders;

/// <summary>SR1012 against the real SafeRefs API (its <c>Subscribe.Event</c> overloads decide which one a call binds to).</summary>
public sealed class ForwarderCoverageAnalyzerTests
{
    [Fact]
    public Task Analyzer_TypeParameterInaccessibleTypeOrRefReturn_Reports() =>
        VerifyAsync("""
            using System;
            using SafeRefs.Subscriptions;

            public delegate ref int Slot();

            public sealed class Feed
            {
                private delegate void Hidden(int value);

                public event Slot Slotted { add { } remove { } }

                public static Subscription Generic<THandler>(Feed feed, THandler handler)
                    where THandler : Delegate =>
                    Subscribe.{|SR1012:Event|}(feed, static (_, _) => { }, static (_, _) => { }, handler);

                public static Subscription GenericArgument<T>(Feed feed, Action<T, T, T> handler) =>
                    Subscribe.{|SR1012:Event|}(feed, static (_, _) => { }, static (_, _) => { }, handler);

                public Subscription Private() =>
                    Subscribe.{|SR1012:Event|}(this, static (_, _) => { }, static (_, _) => { }, (Hidden)(_ => { }));

                public static void Lease<THandler>(SafeRefs.Pooling.PoolLease<Feed> lease, THandler handler)
                    where THandler : Delegate =>
                    lease.{|SR1012:On|}(static (_, _) => { }, static (_, _) => { }, handler);

                public Subscription RefReturn(Slot slot) =>
                    Subscribe.{|SR1012:Event|}(this, static (f, h) => f.Slotted += h, static (f, h) => f.Slotted -= h, slot);
            }
            """);

    [Fact]
    public Task Analyzer_ConcreteAccessibleOrBuiltInTypes_DoesNotReport() =>
        VerifyAsync("""
            using System;
            using System.ComponentModel;
            using SafeRefs.Subscriptions;

            public delegate bool Check(ref int value, out string? label);

            public sealed class Feed
            {
                internal delegate void Visible(int value);

                public static void Run(Feed feed)
                {
                    Subscribe.Event(feed, static (_, _) => { }, static (_, _) => { }, (Check)((ref int v, out string? l) => { l = null; return true; }));
                    Subscribe.Event(feed, static (_, _) => { }, static (_, _) => { }, (Visible)(_ => { }));
                    Subscribe.Event(feed, static (_, _) => { }, static (_, _) => { }, (Func<int, int, int, int>)((_, _, _) => 0));
                    Subscribe.Event(feed, static (_, _) => { }, static (_, _) => { }, (EventHandler)((_, _) => { }));
                    Subscribe.Event(feed, static (_, _) => { }, static (_, _) => { }, (PropertyChangedEventHandler)((_, _) => { }));
                    Subscribe.Event(feed, static (_, _) => { }, static (_, _) => { }, (EventHandler<int>)((_, _) => { }));
                }
            }
            """);

    private static Task VerifyAsync(string source)
    {
        var test = new CSharpAnalyzerTest<ForwarderCoverageAnalyzer, DefaultVerifier> { TestCode = source, ReferenceAssemblies = Verify.Net100 };
        foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll"))
        {
            var name = Path.GetFileName(file);
            if (name == "SafeRefs.dll" || (name.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal) && !name.Contains("Testing", StringComparison.Ordinal)))
            {
                test.TestState.AdditionalReferences.Add(MetadataReference.CreateFromFile(file));
            }
        }

        test.SolutionTransforms.Add((solution, projectId) =>
        {
            var project = solution.GetProject(projectId)!;
            var options = ((CSharpCompilationOptions)project.CompilationOptions!).WithNullableContextOptions(NullableContextOptions.Enable);
            return solution.WithProjectCompilationOptions(projectId, options);
        });
        return test.RunAsync();
    }
}
