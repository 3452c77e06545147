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

    /// <summary>Waits, at most <paramref name="bound"/>, until every one of <paramref name="eventIds"/> was logged.</summary>
    /// <returns><see langword="false"/> if one was not logged in time.</returns>
    public bool WaitFor(TimeSpan bound, params int[] eventIds)
    {
        var deadline = Environment.TickCount64 + (long)bound.TotalMilliseconds;
        lock (_seen)
        {
            while (!eventIds.All(_seen.Contains))
            {
                var left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    return false;
                }

                Monitor.Wait(_seen, TimeSpan.FromMilliseconds(left));
            }

            return true;
        }
    }

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_seen)
        {
            if (_seen.Add(eventId.Id))
            {
                Console.WriteLine($"event {eventId.Id} {exception?.GetType().Name}");
                Monitor.PulseAll(_seen);
            }
        }
    }
}
