using SafeRefs.Analyzers.CodeFixes;
using SafeRefs.Analyzers.Tests.Infrastructure;

namespace SafeRefs.Analyzers.Tests;

public sealed class WeakEventDeclaringTypeAnalyzerTests
{
    [Fact]
    public Task Analyzer_BudgetWithoutDeclaringType_ReportsEveryWeakEventKind() =>
        Verify.AnalyzerAsync<WeakEventDeclaringTypeAnalyzer>("""
            using System;
            using SafeRefs.Events;
            using SafeRefs.Subscriptions;

            public sealed class Thermometer
            {
                private static readonly ListenerBudget Budget = new(50);

                private readonly WeakEvent<double> _changed = new({|SR1011:new WeakEventOptions { Budget = Budget, Name = "Changed" }|});
                private readonly AsyncWeakEvent<double> _saved = new({|SR1011:new WeakEventOptions { Budget = Budget }|});
                private readonly WeakDelegateEvent<Action> _reset;

                public Thermometer()
                {
                    _reset = new WeakDelegateEvent<Action>({|SR1011:new() { Budget = Budget }|});
                }

                public WeakEvent<int> Ticked { get; } = new({|SR1011:new WeakEventOptions { Budget = new ListenerBudget(5) }|});
            }
            """);

    [Fact]
    public Task Analyzer_DeclaringTypeSetNoBudgetOrOptionsFromElsewhere_DoesNotReport() =>
        Verify.AnalyzerAsync<WeakEventDeclaringTypeAnalyzer>("""
            using System;
            using SafeRefs.Events;
            using SafeRefs.Subscriptions;

            public sealed class Thermometer
            {
                private static readonly ListenerBudget Budget = new(50);
                private static readonly WeakEventOptions Shared = new() { Budget = Budget };

                private readonly WeakEvent<double> _named = new(new WeakEventOptions { Budget = Budget, DeclaringType = typeof(Thermometer) });
                private readonly WeakEvent<double> _noBudget = new(new WeakEventOptions { Name = "Changed" });
                private readonly WeakEvent<double> _noOptions = new();
                private readonly WeakEvent<double> _nullOptions = new(null);
                private readonly WeakEvent<double> _sharedOptions = new(Shared);
                private readonly WeakEvent<double> _built = new(Options());

                private static WeakEventOptions Options() => new() { Budget = Budget };
            }

            public struct Reading
            {
                private static readonly ListenerBudget Budget = new(50);

                public static WeakEvent<double> Changed { get; } = new(new WeakEventOptions { Budget = Budget });
            }
            """);

    [Fact]
    public Task CodeFix_AddsDeclaringTypeOfTheContainingClass() =>
        Verify.CodeFixAsync<WeakEventDeclaringTypeAnalyzer, WeakEventDeclaringTypeCodeFixProvider>(
            """
            using SafeRefs.Events;
            using SafeRefs.Subscriptions;

            public sealed class Thermometer
            {
                private static readonly ListenerBudget Budget = new(50);

                private readonly WeakEvent<double> _changed = new({|SR1011:new WeakEventOptions { Budget = Budget, Name = "Changed" }|});
            }
            """,
            """
            using SafeRefs.Events;
            using SafeRefs.Subscriptions;

            public sealed class Thermometer
            {
                private static readonly ListenerBudget Budget = new(50);

                private readonly WeakEvent<double> _changed = new(new WeakEventOptions { Budget = Budget, Name = "Changed", DeclaringType = typeof(Thermometer) });
            }
            """);

    [Fact]
    public Task CodeFix_MultiLineInitializerInAGenericClass_AddsALineWithTheTypeParameters() =>
        Verify.CodeFixAsync<WeakEventDeclaringTypeAnalyzer, WeakEventDeclaringTypeCodeFixProvider>(
            """
            using SafeRefs.Events;
            using SafeRefs.Subscriptions;

            public sealed class Feed<T>
            {
                private readonly WeakEvent<T> _changed = new({|SR1011:new WeakEventOptions
                {
                    Budget = new ListenerBudget(50),
                    Name = "Changed",
                }|});
            }
            """,
            """
            using SafeRefs.Events;
            using SafeRefs.Subscriptions;

            public sealed class Feed<T>
            {
                private readonly WeakEvent<T> _changed = new(new WeakEventOptions
                {
                    Budget = new ListenerBudget(50),
                    Name = "Changed",
                    DeclaringType = typeof(Feed<T>),
                });
            }
            """);
}
