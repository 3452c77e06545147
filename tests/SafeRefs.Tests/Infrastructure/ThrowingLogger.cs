using Microsoft.Extensions.Logging;

namespace SafeRefs.Tests.Infrastructure;

/// <summary>A logger that is enabled for everything and throws from every <see cref="Log"/>: user code gone wrong.</summary>
internal sealed class ThrowingLogger : ILogger
{
    public int Calls => Volatile.Read(ref _calls);

    private int _calls;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        Interlocked.Increment(ref _calls);
        throw new InvalidOperationException("logger is broken");
    }
}
