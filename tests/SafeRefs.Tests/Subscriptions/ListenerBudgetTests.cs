using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;
using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Subscriptions;

public sealed class ListenerBudgetTests
{
    [Fact]
    public void Constructor_NegativeMax_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ListenerBudget(-1));
    }

    [Fact]
    public void MaxListeners_Negative_Throws()
    {
        var budget = new ListenerBudget();
        Assert.Throws<ArgumentOutOfRangeException>(() => budget.MaxListeners = -1);
        Assert.Equal(10, budget.MaxListeners);
    }

    [Fact]
    public void OnExceeded_Undefined_Throws()
    {
        var budget = new ListenerBudget();
        Assert.Throws<ArgumentOutOfRangeException>(() => budget.OnExceeded = (ListenerBudgetAction)42);
        Assert.Equal(ListenerBudgetAction.Warn, budget.OnExceeded);
    }

    [Fact]
    public void Default_IsSharedWithNodeDefaults()
    {
        Assert.Same(ListenerBudget.Default, ListenerBudget.Default);
        Assert.Equal(10, ListenerBudget.Default.MaxListeners);
    }

    [Fact]
    public void Count_NullArguments_Throw()
    {
        var budget = new ListenerBudget();
        Assert.Throws<ArgumentNullException>(() => budget.Count(null!, "Changed"));
        Assert.Throws<ArgumentNullException>(() => budget.Count(new object(), null!));
    }

    [Fact]
    public void Count_TracksLiveListenersPerSourceAndEvent()
    {
        var budget = new ListenerBudget();
        var a = new TestSource();
        var b = new TestSource();
        using var a1 = Subscribe.Event(a, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
        var a2 = Subscribe.Event(a, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
        using var a3 = Subscribe.Event(a, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, (EventHandler<int>)((_, _) => { }), budget);
        using var b1 = Subscribe.Event(b, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);

        Assert.Equal(2, budget.Count(a, "Changed"));
        Assert.Equal(1, budget.Count(a, "Valued"));
        Assert.Equal(1, budget.Count(b, "Changed"));
        Assert.Equal(0, budget.Count(b, "Valued"));

        a2.Dispose();
        a2.Dispose();
        Assert.Equal(1, budget.Count(a, "Changed"));
        Assert.Equal(1, a.ChangedCount);
    }

    [Fact]
    public void Count_DifferentSpellingsOfOneEvent_ShareOneCount()
    {
        var budget = new ListenerBudget();
        var source = new TestSource();
        using var one = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
        using var two = Subscribe.Event(source, (x, handler) => x.Changed += handler, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
        using var three = Subscribe.Event(source, static (s, h) => s.AddChanged(h), static (s, h) => s.RemoveChanged(h), (EventHandler)((_, _) => { }), budget, "Changed");

        Assert.Equal(3, budget.Count(source, "Changed"));
    }

    [Fact]
    public void Warn_AboveLimit_RaisesExceededOnceAndAttachesEveryListener()
    {
        var budget = new ListenerBudget(maxListeners: 3);
        var source = new TestSource();
        var raised = new List<ListenerLeakEventArgs>();
        budget.Exceeded += (sender, e) =>
        {
            Assert.Same(budget, sender);
            raised.Add(e);
        };

        var tokens = new List<Subscription>();
        for (var i = 0; i < 3; i++)
        {
            tokens.Add(Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget));
        }

        Assert.Empty(raised);
        for (var i = 0; i < 5; i++)
        {
            tokens.Add(Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget));
        }

        var args = Assert.Single(raised);
        Assert.Same(source, args.Source);
        Assert.Equal("Changed", args.EventName);
        Assert.Equal(4, args.Count);
        Assert.Equal(3, args.MaxListeners);
        Assert.Equal(8, source.ChangedCount);
        Assert.Equal(8, budget.Count(source, "Changed"));

        tokens.ForEach(static t => t.Dispose());
        Assert.Equal(0, source.ChangedCount);
        Assert.Equal(0, budget.Count(source, "Changed"));
    }

    [Fact]
    public void Warn_LogsOneWarningNamingSourceEventCountAndLimit()
    {
        var logger = new FakeLogger();
        var budget = new ListenerBudget(maxListeners: 1, logger);
        var source = new TestSource();
        using var one = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
        using var two = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
        using var three = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);

        var record = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(LogLevel.Warning, record.Level);
        Assert.Equal(1000, record.Id.Id);
        Assert.Contains("possible listener leak", record.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(typeof(TestSource).FullName!, record.Message, StringComparison.Ordinal);
        Assert.Contains("Changed", record.Message, StringComparison.Ordinal);
        Assert.Contains("2 listeners", record.Message, StringComparison.Ordinal);
        Assert.Contains("limit of 1", record.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Warn_ExceededHandlerThrows_DoesNotPropagate()
    {
        var budget = new ListenerBudget(maxListeners: 1);
        budget.Exceeded += (_, _) => throw new InvalidOperationException("handler failure");
        var source = new TestSource();
        using var one = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
        using var two = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);

        Assert.Equal(2, source.ChangedCount);
    }

    [Fact]
    public void Warn_OncePerSourceAndEvent_NotPerBudget()
    {
        var budget = new ListenerBudget(maxListeners: 1);
        var reports = new List<(object Source, string EventName)>();
        budget.Exceeded += (_, e) => reports.Add((e.Source, e.EventName));
        var a = new TestSource();
        var b = new TestSource();
        var tokens = new List<Subscription>();
        for (var i = 0; i < 3; i++)
        {
            tokens.Add(Subscribe.Event(a, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget));
            tokens.Add(Subscribe.Event(a, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, (EventHandler<int>)((_, _) => { }), budget));
            tokens.Add(Subscribe.Event(b, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget));
        }

        Assert.Equal(3, reports.Count);
        Assert.Contains(reports, r => ReferenceEquals(r.Source, a) && r.EventName == "Changed");
        Assert.Contains(reports, r => ReferenceEquals(r.Source, a) && r.EventName == "Valued");
        Assert.Contains(reports, r => ReferenceEquals(r.Source, b) && r.EventName == "Changed");
        tokens.ForEach(static t => t.Dispose());
    }

    [Fact]
    public void Warn_CountDropsAndRisesAgain_DoesNotWarnTwice()
    {
        var budget = new ListenerBudget(maxListeners: 1);
        var raised = 0;
        budget.Exceeded += (_, _) => raised++;
        var source = new TestSource();
        for (var round = 0; round < 3; round++)
        {
            using var one = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
            using var two = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
        }

        Assert.Equal(1, raised);
        Assert.Equal(0, source.ChangedCount);
    }

    [Fact]
    public void Throw_AboveLimit_ThrowsAndAttachesNothing()
    {
        var budget = new ListenerBudget(maxListeners: 2) { OnExceeded = ListenerBudgetAction.Throw };
        var raised = 0;
        budget.Exceeded += (_, _) => raised++;
        var source = new TestSource();
        using var one = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
        using var two = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);

        var ex = Assert.Throws<ListenerLimitExceededException>(
            () => Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget));

        Assert.Equal(2, source.ChangedCount);
        Assert.Equal(2, budget.Count(source, "Changed"));
        Assert.Equal("Changed", ex.EventName);
        Assert.Equal(3, ex.Count);
        Assert.Equal(2, ex.MaxListeners);
        Assert.Equal(typeof(TestSource), ex.SourceType);
        Assert.Equal(0, raised);

        two.Dispose();
        using var three = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
        Assert.Equal(2, source.ChangedCount);
    }

    [Fact]
    public void Ignore_AboveLimit_AttachesAndReportsNothing()
    {
        var budget = new ListenerBudget(maxListeners: 1) { OnExceeded = ListenerBudgetAction.Ignore };
        var raised = 0;
        budget.Exceeded += (_, _) => raised++;
        var source = new TestSource();
        using var one = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
        using var two = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);

        Assert.Equal(0, raised);
        Assert.Equal(2, budget.Count(source, "Changed"));
    }

    [Fact]
    public void MaxListenersZero_IsUnlimited()
    {
        var budget = new ListenerBudget(maxListeners: 0) { OnExceeded = ListenerBudgetAction.Throw };
        var source = new TestSource();
        var tokens = Enumerable.Range(0, 100)
            .Select(_ => Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget))
            .ToList();

        Assert.Equal(100, budget.Count(source, "Changed"));
        tokens.ForEach(static t => t.Dispose());
        Assert.Equal(0, source.ChangedCount);
    }

    [Fact]
    public void Exceeded_RecordsMetric()
    {
        using var collector = new MetricCollector<long>(Metrics.Shared.Meter, "saferefs.listener.budget.exceeded");
        var budget = new ListenerBudget(maxListeners: 1);
        var source = new MetricOnlySource();
        using var one = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
        using var two = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);

        var measurement = Assert.Single(collector.GetMeasurementSnapshot(), m => Equals(m.Tags["saferefs.source.type"], typeof(MetricOnlySource).FullName));
        Assert.Equal(1, measurement.Value);
        Assert.Equal("Changed", measurement.Tags["saferefs.event.name"]);
    }

    [Fact]
    public void Exceeded_GenericSource_TagReadsAsCSharpWithoutAssemblyNames()
    {
        using var collector = new MetricCollector<long>(Metrics.Shared.Meter, "saferefs.listener.budget.exceeded");
        var budget = new ListenerBudget(maxListeners: 1);
        var source = new GenericMetricSource<Guid>();
        using var one = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);
        using var two = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => { }), budget);

        var expected = typeof(ListenerBudgetTests).FullName + "+GenericMetricSource<System.Guid>";
        var measurement = Assert.Single(collector.GetMeasurementSnapshot(), m => Equals(m.Tags["saferefs.source.type"], expected));
        Assert.Equal(1, measurement.Value);
    }

    [Theory]
    [InlineData("static (s, h) => s.Changed += h", "Changed")]
    [InlineData("(x, handler) => x.Inner.Value_2 += handler", "Value_2")]
    [InlineData("  Changed ", "Changed")]
    [InlineData("static (s, h) => s.AddChanged(h)", "static (s, h) => s.AddChanged(h)")]
    [InlineData(null, "(unnamed)")]
    public void EventNames_Normalize_ReducesAddExpressionToMemberName(string? text, string expected)
    {
        Assert.Equal(expected, EventNames.Normalize(text));
    }

    private sealed class MetricOnlySource
    {
        public event EventHandler? Changed;

        public void Raise() => Changed?.Invoke(this, EventArgs.Empty);
    }

    private sealed class GenericMetricSource<T>
    {
        public event EventHandler? Changed;

        public T? Last { get; private set; }

        public void Raise(T value)
        {
            Last = value;
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }
}
