using SafeRefs.Diagnostics;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

/// <summary>Scenarios that run in a child process (see <c>ChildProcess</c>): their failure mode is a crash.</summary>
internal static class TimerScopeCrashScenarios
{
    /// <summary>
    /// A standalone scope on the system clock, with no <c>Error</c> handler and no logger, whose timer callbacks and
    /// loop body throw. Prints the event ids logged through <see cref="SafeRefsLog"/>, then "survived".
    /// </summary>
    public static int CallbacksThrowWithoutHandler()
    {
        var logger = new ConsoleEventIdLogger();
        SafeRefsLog.Logger = logger;
        var owner = new object();
        var scope = new TimerScope();
        scope.After(TimeSpan.FromMilliseconds(1), static () => throw new InvalidOperationException("after"));
        scope.Every(TimeSpan.FromMilliseconds(5), static () => throw new InvalidOperationException("every"));
        scope.Loop(owner, TimeSpan.FromMilliseconds(1), static (_, _) => throw new InvalidOperationException("loop"));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!(logger.Saw(1200) && logger.Saw(1201)) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }

        // A failure rethrown as unhandled would end the process from a timer thread: give it a bounded chance to.
        Thread.Sleep(300);
        scope.Dispose();
        GC.KeepAlive(owner);
        Console.WriteLine("survived");
        return 0;
    }
}
