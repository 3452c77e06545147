using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using SafeRefs.Diagnostics;
using SafeRefs.Events;
using SafeRefs.Subscriptions;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

public sealed class WeakEventBudgetTests
{
    [Fact]
    public void Subscribe_AboveBudget_WarnsOncePerEvent()
    {
        var budget = new ListenerBudget(maxListeners: 2);
        var warnings = new List<ListenerLeakEventArgs>();
        budget.Exceeded += (_, e) => warnings.Add(e);
        var source = new WeakEvent<int>(new WeakEventOptions { Budget = budget, Name = "Changed" });
        var owner = new object();
        for (var i = 0; i < 4; i++)
        {
            source.Subscribe(owner, static (_, _, _) => { });
        }

        var warning = Assert.Single(warnings);
        Assert.Same(source, warning.Source);
        Assert.Equal("Changed", warning.EventName);
        Assert.Equal(3, warning.Count);
        Assert.Equal(4, budget.Count(source, "Changed"));
        Assert.Equal(4, source.Count);
    }

    [Fact]
    public void DisposeAndRemove_GiveThePlaceBack()
    {
        var budget = new ListenerBudget(maxListeners: 10);
        var source = new WeakEvent<int>(new WeakEventOptions { Budget = budget, Name = "E" });
        var owner = new object();
        var token = source.Subscribe(owner, static (_, _, _) => { });
        source.Add(Handler);
        Assert.Equal(2, budget.Count(source, "E"));
        token.Dispose();
        token.Dispose();
        source.Remove(Handler);
        Assert.Equal(0, budget.Count(source, "E"));
    }

    [Fact]
    public void Subscribe_BudgetThrows_NothingAttached()
    {
        var budget = new ListenerBudget(maxListeners: 1) { OnExceeded = ListenerBudgetAction.Throw };
        var source = new AsyncWeakEvent<int>(new WeakEventOptions { Budget = budget });
        var owner = new object();
        source.Subscribe(owner, static (_, _, _, _) => default);
        Assert.Throws<ListenerLimitExceededException>(() => source.Subscribe(owner, static (_, _, _, _) => default));
        Assert.Equal(1, source.Count);
        Assert.Equal(1, budget.Count(source, "(unnamed)"));
    }

    // M10: a hand-written weak event names the class that declares it, not WeakEvent<T>, in the log, the metric and the args.
    [Fact]
    public void Warn_DeclaringType_NamedInLogMetricAndArgs()
    {
        using var factory = new TestMeterFactory();
        using var exceeded = new MetricCollector<long>(factory, SafeRefsMeter.Name, "saferefs.listener.budget.exceeded");
        var logger = new FakeLogger();
        var budget = new ListenerBudget(maxListeners: 1, logger) { MeterFactory = factory };
        var warnings = new List<ListenerLeakEventArgs>();
        budget.Exceeded += (_, e) => warnings.Add(e);
        var source = new WeakEvent<double>(new WeakEventOptions { Budget = budget, Name = "Changed", DeclaringType = typeof(Thermometer) });
        var owner = new object();
        source.Subscribe(owner, static (_, _, _) => { });
        source.Subscribe(owner, static (_, _, _) => { });

        var record = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(1000, record.Id.Id);
        Assert.Contains(typeof(Thermometer).FullName + ".Changed", record.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("WeakEvent<", record.Message, StringComparison.Ordinal);
        var warning = Assert.Single(warnings);
        Assert.Equal(typeof(Thermometer), warning.SourceType);
        Assert.Same(source, warning.Source);
        var measurement = Assert.Single(exceeded.GetMeasurementSnapshot());
        Assert.Equal(typeof(Thermometer).FullName, measurement.Tags["saferefs.source.type"]);
    }

    [Fact]
    public void Throw_DeclaringType_NamedInTheException()
    {
        var budget = new ListenerBudget(maxListeners: 1) { OnExceeded = ListenerBudgetAction.Throw };
        var source = new WeakDelegateEvent<EventHandler>(new WeakEventOptions { Budget = budget, Name = "Ticked", DeclaringType = typeof(Thermometer) });
        source.Add(Thermometer.OnTick);
        var thrown = Assert.Throws<ListenerLimitExceededException>(() => source.Add(Thermometer.OnTick));
        Assert.Equal(typeof(Thermometer), thrown.SourceType);
        Assert.Contains("Thermometer.Ticked", thrown.Message, StringComparison.Ordinal);
    }

    // Without a declaring type the report still names the event object's type (control for the two tests above).
    [Fact]
    public void Warn_NoDeclaringType_NamesTheWeakEventType()
    {
        var budget = new ListenerBudget(maxListeners: 1);
        var warnings = new List<ListenerLeakEventArgs>();
        budget.Exceeded += (_, e) => warnings.Add(e);
        var source = new AsyncWeakEvent<int>(new WeakEventOptions { Budget = budget, Name = "Saved" });
        source.Subscribe(budget, static (_, _, _, _) => default);
        source.Subscribe(budget, static (_, _, _, _) => default);
        Assert.Equal(typeof(AsyncWeakEvent<int>), Assert.Single(warnings).SourceType);
    }

    // A refused multicast Add is judged whole: it holds no place at any instant, so a Subscribe on another thread at
    // the instant of the refusal (its log, a hook on the refusing thread) finds the room the delegate never took.
    // Control: with the budget already full, the same concurrent Subscribe is refused.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Add_MulticastRefused_ConcurrentSubscribeAtTheRefusalSeesRoom(int subscribed)
    {
        WeakEvent<int>? source = null;
        var owner = new object();
        Exception? concurrent = null;
        var hooked = 0;
        var joined = false;
        var logger = new HookLogger(() =>
        {
            if (Interlocked.Exchange(ref hooked, 1) == 0)
            {
                var subscriber = new Thread(() => concurrent = Record.Exception(() => source!.Subscribe(owner, static (_, _, _) => { })));
                subscriber.Start();
                joined = subscriber.Join(TestTimeouts.Bound);
            }
        });
        var budget = new ListenerBudget(maxListeners: 2, logger) { OnExceeded = ListenerBudgetAction.Throw };
        source = new WeakEvent<int>(new WeakEventOptions { Budget = budget, Name = "E" });
        for (var i = 0; i < subscribed; i++)
        {
            source.Subscribe(owner, static (_, _, _) => { });
        }

        EventHandler<int> multicast = Handler;
        multicast += Handler;
        multicast += Handler;

        _ = Assert.Throws<ListenerLimitExceededException>(() => source.Add(multicast));

        Assert.True(joined, "the concurrent Subscribe did not return");
        if (subscribed == 1)
        {
            Assert.Null(concurrent);
        }
        else
        {
            Assert.IsType<ListenerLimitExceededException>(concurrent);
        }

        Assert.Equal(2, source.Count);
        Assert.Equal(2, budget.Count(source, "E"));
    }

    // "With Warn the listener is attached, then Exceeded is raised": a weak event warned before publishing, so an
    // Exceeded handler reading the event missed the listeners it was told about. Subscribe.Event is the control.
    [Theory]
    [InlineData("Add", 2)]
    [InlineData("Subscribe", 2)]
    [InlineData("Multicast", 3)]
    [InlineData("Subscribe.Event", 2)]
    public void Warn_ExceededRaisedAfterTheListenersAreAttached(string how, int expected)
    {
        var budget = new ListenerBudget(maxListeners: 1);
        var source = new WeakEvent<int>(new WeakEventOptions { Budget = budget, Name = "E" });
        var plain = new PlainSource();
        var owner = new object();
        var seen = new List<(int Count, int Reported)>();
        budget.Exceeded += (_, e) => seen.Add((how == "Subscribe.Event" ? plain.Count : source.Count, e.Count));
        EventHandler<int> multicast = Handler;
        multicast += Handler;

        for (var i = 0; i < 2; i++)
        {
            switch (how)
            {
                case "Add":
                    source.Add(Handler);
                    break;
                case "Subscribe":
                    _ = source.Subscribe(owner, static (_, _, _) => { });
                    break;
                case "Multicast":
                    source.Add(i == 0 ? Handler : multicast);
                    break;
                default:
                    _ = Subscribe.Event(plain, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler<int>)Handler, budget, "E");
                    break;
            }
        }

        Assert.Equal((expected, expected), Assert.Single(seen));
        GC.KeepAlive(owner);
    }

    // A refused multicast said "listener 4" for a delegate of three parts added to one: the exception and the log say
    // the count the delegate would have made. A single listener's refusal reads the same way.
    [Theory]
    [InlineData(3, 4)]
    [InlineData(1, 2)]
    public void Throw_MessageAndLog_SayTheCountTheListenerWouldMake(int parts, int wouldMake)
    {
        var logger = new FakeLogger();
        var budget = new ListenerBudget(maxListeners: 1, logger) { OnExceeded = ListenerBudgetAction.Throw };
        var source = new WeakEvent<int>(new WeakEventOptions { Budget = budget, Name = "Changed", DeclaringType = typeof(Thermometer) });
        source.Add(Handler);
        EventHandler<int> listener = Handler;
        for (var i = 1; i < parts; i++)
        {
            listener += Handler;
        }

        var thrown = Assert.Throws<ListenerLimitExceededException>(() => source.Add(listener));

        var expected = $"a listener that would make {wouldMake} listeners on Thermometer.Changed";
        Assert.Contains(expected, thrown.Message, StringComparison.Ordinal);
        Assert.Equal(wouldMake, thrown.Count);
        var record = Assert.Single(logger.Collector.GetSnapshot());
        Assert.Equal(1001, record.Id.Id);
        Assert.Contains($"a listener that would make {wouldMake} listeners on {typeof(Thermometer).FullName}.Changed", record.Message, StringComparison.Ordinal);
        Assert.Equal(1, source.Count);
    }

    private static void Handler(object? sender, int e)
    {
    }

    /// <summary>A plain event that counts its handlers.</summary>
    private sealed class PlainSource
    {
        private EventHandler<int>? _changed;

        public event EventHandler<int>? Changed
        {
            add => _changed += value;
            remove => _changed -= value;
        }

        public int Count => _changed?.GetInvocationList().Length ?? 0;
    }

    /// <summary>A logger that runs a hook at each log call, on the logging thread.</summary>
    private sealed class HookLogger(Action hook) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) => hook();
    }

    private sealed class Thermometer
    {
        public static void OnTick(object? sender, EventArgs e)
        {
        }
    }
}
