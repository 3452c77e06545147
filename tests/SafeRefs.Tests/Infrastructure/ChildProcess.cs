using System.Diagnostics;
using System.Globalization;
using SafeRefs.Tests.Caching;
using SafeRefs.Tests.Diagnostics;
using SafeRefs.Tests.Diagnostics.Internal;
using SafeRefs.Tests.Events.Internal;
using SafeRefs.Tests.Pooling;
using SafeRefs.Tests.Subscriptions;
using SafeRefs.Tests.Subscriptions.WeakLinks;
using SafeRefs.Tests.Timers;

namespace SafeRefs.Tests.Infrastructure;

/// <summary>
/// Runs a scenario in a child process (<c>dotnet SafeRefs.Tests.dll child &lt;scenario&gt;</c>), for tests whose failure
/// mode is a crash (a test that aborts the test host proves nothing) and for exact readings of process-wide totals
/// that other tests' work would move.
/// </summary>
public static class ChildProcess
{
    /// <summary>The scenarios a child can run; each prints what the parent asserts and returns the exit code.</summary>
    private static readonly Dictionary<string, Func<int>> Scenarios = new(StringComparer.Ordinal)
    {
        ["weak-link-throwing-remove-background-purge"] = WeakLinkCrashScenarios.ThrowingRemoveDuringBackgroundPurge,
        ["weak-link-throwing-remove-subscribing-thread-purge"] = WeakLinkCrashScenarios.ThrowingRemoveDuringSubscribingThreadPurge,
        ["weak-link-throwing-remove-dispose"] = WeakLinkCrashScenarios.ThrowingRemoveDuringDispose,
        ["weak-event-only-active-metric"] = WeakLinkTests.ActiveMetricWithWeakEventsOnly,
        ["weak-link-active-metric-until-detached"] = WeakLinkTests.ActiveMetricCountsWeakEventLinksUntilDetached,
        ["pool-lease-callbacks-throw-without-handler"] = PoolLeaseEndTests.LeaseCallbacksThrowWithoutHandler,
        ["timer-scope-callbacks-throw-without-handler"] = TimerScopeCrashScenarios.CallbacksThrowWithoutHandler,
        ["timer-scope-lifetime-cancel-after-token-callback-throws"] = TimerScopeCrashScenarios.LifetimeCancelAfterTokenCallbackThrows,
        ["timer-scope-lifetime-cancel-after-token-callback-returns"] = TimerScopeCrashScenarios.LifetimeCancelAfterTokenCallbackReturns,
        ["cache-sweep-handler-and-logger-throw"] = CacheReportingFailureTests.SweepWithThrowingHandlerAndLogger,
        ["metrics-listener-throws-on-publish"] = MetricsPublishFailureTests.ListenerThrowsOnPublish,
        ["late-listener-active-subscriptions"] = LateListenerMetricsTests.ActiveSubscriptionsCreatedBeforeAnyoneListened,
        ["subscription-active-metric"] = SubscribeSoakTests.ActiveMetricTracksAttachAndDetach,
        ["subscription-bags-holding-themselves"] = SubscriptionBagCycleTests.BagsHoldingThemselves,
    };

    /// <summary>Runs <paramref name="scenario"/> in a child process and returns its exit code and output.</summary>
    public static (int ExitCode, string Output) Run(string scenario, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(typeof(ChildProcess).Assembly.Location);
        info.ArgumentList.Add("child");
        info.ArgumentList.Add(scenario);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the child");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"child scenario {scenario} did not end within {timeout}");
        }

        return (process.ExitCode, output.Bounded().GetAwaiter().GetResult() + error.Bounded().GetAwaiter().GetResult());
    }

    /// <summary>The child's entry point.</summary>
    /// <param name="args"><c>child &lt;scenario&gt;</c>.</param>
    /// <returns>The scenario's exit code; 2 for an unknown scenario.</returns>
    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "child" && Scenarios.TryGetValue(args[1], out var scenario))
        {
            return scenario();
        }

        Console.Error.WriteLine(string.Format(CultureInfo.InvariantCulture, "unknown child scenario: {0}", string.Join(' ', args)));
        return 2;
    }
}
