using SafeRefs.Diagnostics;
using SafeRefs.Tests.Infrastructure;
using SafeRefs.Timers;

namespace SafeRefs.Tests.Timers;

/// <summary>Scenarios that run in a child process (see <c>ChildProcess</c>): their failure mode is a crash.</summary>
internal static class TimerScopeCrashScenarios
{
    /// <summary>
    /// A standalone scope on the system clock, with no <c>Error</c> handler and no logger, whose timer callbacks and
    /// loop body throw. Once both failures were logged, the scope is disposed and the child waits until every timer
    /// callback that started has returned: a failure rethrown as unhandled would end the process from its timer thread,
    /// or never return (exit code 3). Prints the event ids logged through <see cref="SafeRefsLog"/>, then "survived".
    /// </summary>
    public static int CallbacksThrowWithoutHandler()
    {
        var bound = TimeSpan.FromSeconds(30);
        var logger = new ConsoleEventIdLogger();
        SafeRefsLog.Logger = logger;
        var clock = new ReturnTrackingTimeProvider();
        var owner = new object();
        var scope = new TimerScope(clock);
        scope.After(TimeSpan.FromMilliseconds(1), static () => throw new InvalidOperationException("after"));
        scope.Every(TimeSpan.FromMilliseconds(5), static () => throw new InvalidOperationException("every"));
        scope.Loop(owner, TimeSpan.FromMilliseconds(1), static (_, _) => throw new InvalidOperationException("loop"));
        if (!logger.WaitFor(bound, 1200, 1201))
        {
            Console.WriteLine("timed out");
            return 1;
        }

        scope.Dispose();
        if (!clock.WaitUntilNoneRuns(bound))
        {
            Console.WriteLine("a timer callback did not return");
            return 3;
        }

        GC.KeepAlive(owner);
        Console.WriteLine("survived");
        return 0;
    }

    /// <summary>
    /// A scope whose lifetime is a <c>CancelAfter</c> source on the system clock, so the lifetime's cancellation runs on
    /// a timer thread; a callback on the scope's token throws. Prints "reported" once the scope's <c>Error</c> got the
    /// failure, then "survived".
    /// </summary>
    public static int LifetimeCancelAfterTokenCallbackThrows() => LifetimeCancelAfter(tokenCallbackThrows: true);

    /// <summary>The control of <see cref="LifetimeCancelAfterTokenCallbackThrows"/>: the token callback returns.</summary>
    public static int LifetimeCancelAfterTokenCallbackReturns() => LifetimeCancelAfter(tokenCallbackThrows: false);

    private static int LifetimeCancelAfter(bool tokenCallbackThrows)
    {
        var bound = TimeSpan.FromSeconds(30);
        using var life = new CancellationTokenSource();
        using var ran = new ManualResetEventSlim();
        using var reported = new ManualResetEventSlim();
        var scope = new TimerScope(lifetime: life.Token);
        scope.Error += (_, e) =>
        {
            if (e.Exception.Message == "token callback")
            {
                reported.Set();
            }
        };
        using var registration = scope.Token.Register(() =>
        {
            ran.Set();
            if (tokenCallbackThrows)
            {
                throw new InvalidOperationException("token callback");
            }
        });

        life.CancelAfter(TimeSpan.FromMilliseconds(1));

        // Thrown into the timer thread, the failure would end the process before Error is raised.
        if (!ran.Wait(bound) || (tokenCallbackThrows && !reported.Wait(bound)))
        {
            Console.WriteLine("timed out");
            return 1;
        }

        Console.WriteLine(tokenCallbackThrows ? "reported" : "not reported");
        Console.WriteLine(scope.IsDisposed ? "survived" : "not disposed");
        return 0;
    }
}
