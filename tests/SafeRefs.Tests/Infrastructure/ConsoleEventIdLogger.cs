using Microsoft.Extensions.Logging;

namespace SafeRefs.Tests.Infrastructure;

/// <summary>A logger for child-process scenarios: prints "event &lt;id&gt; &lt;exception type&gt;" for each record.</summary>
internal sealed class ConsoleEventIdLogger : ILogger
{
    private readonly HashSet<int> _seen = [];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public bool Saw(int eventId)
    {
        lock (_seen)
        {
            return _seen.Contains(eventId);
        }
    }

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_seen)
        {
            if (_seen.Add(eventId.Id))
            {
                Console.WriteLine($"event {eventId.Id} {exception?.GetType().Name}");
            }
        }
    }
}
