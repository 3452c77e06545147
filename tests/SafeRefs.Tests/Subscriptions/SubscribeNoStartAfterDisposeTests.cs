// GatedSubscription.BeforeEnterHook, which every test here sets, exists only in Debug builds (it would cost every
// invocation a static load): these tests compile and run in the Debug run of the suite, which CI runs too.
#if DEBUG
using SafeRefs.Subscriptions;
using SafeRefs.Subscriptions.Internal;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// "After <c>Dispose</c> returns, no invocation of the handler starts", deterministically, for the strong tokens in the
/// one window only their closed gate guards: a raise on another thread is held by
/// <see cref="GatedSubscription.BeforeEnterHook"/> after it read the user's callback and before the gate check, while
/// <c>Dispose</c> runs to completion on a third thread. The hook is process-wide and filters on its token; only this
/// class sets it.
/// </summary>
public sealed class SubscribeNoStartAfterDisposeTests
{
    public SubscribeNoStartAfterDisposeTests() => HandForwarders.Ensure();

    public static TheoryData<string> Kinds => ["EventHandler", "EventHandlerOfT", "RegisteredForwarder", "OnCancel", "Observe", "OnChange"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task RaiseHeldBetweenReadAndGate_DisposeReturns_HandlerNeverStarts(string kind) =>
        Assert.Equal(0, await RaiseHeldBetweenReadAndGate(kind, dispose: true));

    // Control twin: the same held raise without Dispose does start the handler, so the test above can only pass
    // because the disposed gate refused it.
    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task RaiseHeldBetweenReadAndGate_Control_NotDisposed_HandlerStarts(string kind) =>
        Assert.Equal(1, await RaiseHeldBetweenReadAndGate(kind, dispose: false));

    /// <summary>Raises once, held in the hook; disposes meanwhile if asked; returns how often the callback ran.</summary>
    private static async Task<int> RaiseHeldBetweenReadAndGate(string kind, bool dispose)
    {
        var probe = Probe.Create(kind);
        using var atHook = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        GatedSubscription.BeforeEnterHook = t =>
        {
            if (ReferenceEquals(t, probe.Token))
            {
                atHook.Set();
                release.WaitBounded();
            }
        };
        try
        {
            var raising = OnOwnThread(probe.Raise);
            atHook.WaitBounded();
            if (dispose)
            {
                // Nothing was admitted yet, so Dispose has nothing to wait for: it must complete while the raise is held.
                await OnOwnThread(probe.Token.Dispose).Bounded();
            }

            release.Set();
            await raising.Bounded();
            return probe.Calls;
        }
        finally
        {
            GatedSubscription.BeforeEnterHook = null;
            release.Set();
            probe.Token.Dispose();
        }
    }

    // A thread of its own: the test does not depend on the thread pool being prompt.
    private static Task OnOwnThread(Action action) =>
        Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>One token kind: the token, a raise that reaches its callback once, and how often the callback ran.</summary>
    private sealed class Probe
    {
        private int _calls;

        private Probe()
        {
        }

        public Subscription Token { get; private set; } = null!;

        public Action Raise { get; private set; } = null!;

        public int Calls => Volatile.Read(ref _calls);

        public static Probe Create(string kind)
        {
            var probe = new Probe();
            switch (kind)
            {
                case "EventHandler":
                {
                    var source = new TestSource();
                    probe.Token = Subscribe.Event(source, static (s, h) => s.Changed += h, static (s, h) => s.Changed -= h, (EventHandler)((_, _) => probe.Count()));
                    probe.Raise = source.RaiseChanged;
                    break;
                }

                case "EventHandlerOfT":
                {
                    var source = new TestSource();
                    probe.Token = Subscribe.Event(source, static (s, h) => s.Valued += h, static (s, h) => s.Valued -= h, (EventHandler<int>)((_, _) => probe.Count()));
                    probe.Raise = () => source.RaiseValued(1);
                    break;
                }

                case "RegisteredForwarder":
                {
                    var source = new WeighedSource();
                    probe.Token = Subscribe.Event(source, static (s, h) => s.Weighed += h, static (s, h) => s.Weighed -= h, (Weighed)((_, _, _) =>
                    {
                        probe.Count();
                        return true;
                    }));
                    probe.Raise = source.Raise;
                    break;
                }

                case "OnCancel":
                {
                    var cts = new CancellationTokenSource();
                    probe.Token = Subscribe.OnCancel(cts.Token, static p => ((Probe)p!).Count(), probe);
                    probe.Raise = cts.Cancel;
                    break;
                }

                case "Observe":
                {
                    var source = new SubscribeCallbackTests.TestObservable();
                    probe.Token = Subscribe.Observe(source, new CountingObserver(probe));
                    probe.Raise = () => source.Publish(1);
                    break;
                }

                case "OnChange":
                {
                    var producer = new SubscribeCallbackTests.ChangeProducer();
                    probe.Token = Subscribe.OnChange(producer.GetToken, probe.Count);
                    probe.Raise = producer.Change;
                    break;
                }

                default:
                    throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
            }

            return probe;
        }

        private void Count() => Interlocked.Increment(ref _calls);

        private sealed class CountingObserver(Probe probe) : IObserver<int>
        {
            public void OnCompleted()
            {
            }

            public void OnError(Exception error)
            {
            }

            public void OnNext(int value) => probe.Count();
        }
    }

    private sealed class WeighedSource
    {
        public event Weighed? Weighed;

        public void Raise() => Weighed?.Invoke(1, "x", 2.0);
    }
}
#endif
