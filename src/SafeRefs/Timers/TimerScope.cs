using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using SafeRefs.Diagnostics.Internal;
using SafeRefs.Internal;
using SafeRefs.Timers.Internal;

namespace SafeRefs.Timers;

/// <summary>
/// Owns timers, intervals, delay loops, delays and timeouts so that none of them outlives the scope: disposing the
/// scope stops everything created through it. Everything runs on the scope's <see cref="System.TimeProvider"/>, so
/// tests can drive it with a fake clock.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> strongly the timers, loops, pending delays and <see cref="CancelAfter(TimeSpan)"/> sources it
/// owns (and through them their callbacks), until each ends or the scope is disposed; child scopes only weakly (a
/// child holds its parent strongly), so a child dropped undisposed is collected like any scope. A callback or loop body
/// that is running keeps its own scope alive until it returns, so disposing a parent still stops, and
/// <see cref="DisposeAsync"/> still waits for, what a dropped child runs. An ended timer
/// releases its callback at once; its small shell keeps a cell in the scope's table until the table next needs room. Nothing it
/// creates holds the scope strongly: the runtime's timer queue reaches only the individual timers, which refer to
/// their scope weakly, so a scope dropped without <see cref="Dispose"/> is collectable and its timers retire at their
/// next tick instead of firing forever. Owners passed to the owner overloads are held only weakly. The
/// <c>lifetime</c> token holds the scope only weakly.</para>
/// <para>No timer captures the creating thread's <see cref="ExecutionContext"/>: <see cref="AsyncLocal{T}"/> values
/// are not kept alive by, nor visible in, callbacks.</para>
/// <para>A callback or loop body that throws never ends the process: it is logged (to <see cref="Logger"/>, or to
/// <see cref="Diagnostics.SafeRefsLog.Logger"/> when none is set), counted in <c>saferefs.timer.callback.failures</c>
/// and reported to <see cref="Error"/> (or, without a handler, to the nearest parent scope's handler); the timer keeps
/// its schedule.</para>
/// <para><b>Thread safety:</b> all members are thread-safe; items can be created and disposed concurrently with
/// <see cref="Dispose"/>.</para>
/// <para><b>Second <see cref="Dispose"/>:</b> does nothing more, and returns without waiting for a first one still
/// running on another thread; from then on, as after the first, no new callback or loop body of the scope (or of its
/// child scopes) starts. Every <see cref="DisposeAsync"/> (concurrent or later) completes when what was running at the
/// first disposal has returned.
/// Creating anything through a disposed scope throws <see cref="ObjectDisposedException"/>.</para>
/// </remarks>
public sealed partial class TimerScope : IDisposable, IAsyncDisposable, IScopeMember, IIdleAwaitable
{
    private static long _retiredWithCollectedScope;

    private readonly WeakReference<TimerScope> _self;
    private readonly TimerScope? _parent;
    private ChildScopeMember? _memberInParent; // this scope's member in its parent's table, which holds it only weakly
#pragma warning disable CA2213 // Disposed by DisposeCore; finalized with the scope when it is dropped undisposed.
    private readonly LifetimeRegistration? _lifetime;
#pragma warning restore CA2213

    // Guards the table, _cts and the disposal's start. Every creation takes it once; nothing under it calls user code.
    private readonly Lock _lock = new();
    private readonly ScopeMemberTable _table = new();
    private CancellationTokenSource? _cts;
    // Created by the first disposal (under the gate) and completed once no callback, loop body or child callback that
    // was running at that disposal still runs: every DisposeAsync awaits this one task.
    private TaskCompletionSource? _idle;
    private volatile bool _disposed;
    private int _index = -1;
    private string? _name;
    private IMeterFactory? _meterFactory;
    private Metrics _metrics = Metrics.Shared;
    private ScopeShared? _shared; // created with the first counted item: holds the count of active items

    /// <summary>Initializes a new instance of the <see cref="TimerScope"/> class.</summary>
    /// <param name="timeProvider">The clock for every timer of the scope; <see langword="null"/> means
    /// <see cref="TimeProvider.System"/>.</param>
    /// <param name="lifetime">When cancelled, the scope disposes itself. The token holds the scope only weakly. A token
    /// callback or clock failure of that disposal is not thrown into whoever cancelled the token: it is logged, counted
    /// in <c>saferefs.timer.callback.failures</c> and reported to <see cref="Error"/> (a child scope's to its own
    /// handler, else to its parent's), as where no caller asked for it (a clock failure as the clock's).</param>
    public TimerScope(TimeProvider? timeProvider = null, CancellationToken lifetime = default)
        : this(timeProvider ?? TimeProvider.System, parent: null)
    {
        if (lifetime.CanBeCanceled)
        {
            _lifetime = new LifetimeRegistration(_self, lifetime);
        }
    }

    private TimerScope(TimeProvider timeProvider, TimerScope? parent)
    {
        TimeProvider = timeProvider;
        _parent = parent;
        _self = new WeakReference<TimerScope>(this);
    }

    /// <summary>Raised when a callback or loop body of this scope (or of a child scope without a handler) throws.</summary>
    /// <remarks>Raised on the thread that ran the failing callback, before the callback counts as finished: a
    /// <c>DisposeAsync</c> completes only after the handlers have returned, and one awaited inside a handler faults
    /// as it would inside the callback. Without any handler the failure is only logged and counted; a handler that
    /// throws is logged (event id 1203), never propagated.</remarks>
    public event EventHandler<TimerErrorEventArgs>? Error;

    /// <summary>Gets the clock used by every timer, loop, delay and timeout of the scope.</summary>
    /// <value>The provider passed to the constructor, or <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; }

    /// <summary>Gets a token that is cancelled when the scope is disposed.</summary>
    /// <value>An already cancelled token once the scope is disposed.</value>
    public CancellationToken Token
    {
        get
        {
            lock (_lock)
            {
                if (_disposed)
                {
                    return new CancellationToken(canceled: true);
                }

                _cts ??= new CancellationTokenSource();
                return _cts.Token;
            }
        }
    }

    /// <summary>Gets the number of timers, loops, pending delays and <see cref="CancelAfter(TimeSpan)"/> sources the
    /// scope still owns (child scopes are not counted).</summary>
    /// <value>Zero once the scope is disposed.</value>
    /// <remarks>Read in constant time: it is the count the scope keeps for <c>saferefs.timer.active</c>, raised when an
    /// item is created and lowered when it ends.</remarks>
    public int ActiveCount => _disposed ? 0 : (int)(Volatile.Read(ref _shared)?.Count.Count ?? 0);

    /// <summary>Gets or sets the logger that records failed callbacks and clock failures (event ids 1200–1204).</summary>
    /// <value><see langword="null"/> by default: failures go to <see cref="Diagnostics.SafeRefsLog.Logger"/>. Child
    /// scopes start with their parent's logger.</value>
    public ILogger? Logger { get; set; }

    /// <summary>Gets the scope's name, reported as the <c>saferefs.timer.scope.name</c> tag of <c>saferefs.timer.active</c>.</summary>
    /// <value><see langword="null"/> by default, reported as <c>(unnamed)</c>. Child scopes start with their parent's
    /// name. Use a fixed name per kind of scope (a component or service name), never a per-request value: every
    /// distinct name is a separate time series.</value>
    public string? Name
    {
        get => _name;
        init => _name = value;
    }

    /// <summary>Gets the factory whose <c>SafeRefs</c> meter records this scope's metrics.</summary>
    /// <value><see langword="null"/> by default: the process-wide static <c>SafeRefs</c> meter. Child scopes start with
    /// their parent's factory. See <c>docs/diagnostics.md</c>.</value>
    public IMeterFactory? MeterFactory
    {
        get => _meterFactory;
        init
        {
            _meterFactory = value;
            _metrics = Metrics.For(value);
        }
    }

    /// <summary>Gets a value indicating whether the scope has been disposed.</summary>
    /// <value><see langword="true"/> after <see cref="Dispose"/>, <see cref="DisposeAsync"/>, the lifetime token's
    /// cancellation or the parent's disposal.</value>
    public bool IsDisposed => _disposed;

    int IScopeMember.Index
    {
        get => _index;
        set => _index = value;
    }

    bool IScopeMember.IsClosed => _disposed;

    bool IScopeMember.IsBusy => Volatile.Read(ref _idle) is { Task.IsCompleted: false };

    /// <summary>Gets whether this scope or one of its parents has begun disposing: no callback or loop body of it may
    /// start then. The first disposal sets this under the lock before it closes anything, so any Dispose that returns
    /// (also a second one that raced the first) returns after every callback of the scope and its children is barred,
    /// without waiting for the first to close the clock's timers.</summary>
    internal bool IsDisposing
    {
        get
        {
            for (var scope = this; scope is not null; scope = scope._parent)
            {
                if (scope._disposed)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Gets the number of cells in the scope's table (for tests of cell reuse).</summary>
    internal int TableCapacity
    {
        get
        {
            lock (_lock)
            {
                return _table.Capacity;
            }
        }
    }

    /// <summary>Gets the scope's weak self-reference, which its lifetime registration and its members hold (tests).</summary>
    internal WeakReference<TimerScope> SelfReference => _self;

    /// <summary>Gets how many timers found their scope collected (dropped without Dispose) and retired.</summary>
    internal static long RetiredWithCollectedScope => Interlocked.Read(ref _retiredWithCollectedScope);

    /// <summary>Runs <paramref name="callback"/> once after <paramref name="due"/> (the <c>setTimeout</c> of the scope).</summary>
    /// <param name="due">The delay; <see cref="Timeout.InfiniteTimeSpan"/> creates the timer paused.</param>
    /// <param name="callback">The callback; runs on a thread-pool thread (or inside the fake clock's advance).</param>
    /// <returns>The timer; it leaves the scope after it fires.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="due"/> is negative or too large.</exception>
    /// <exception cref="ObjectDisposedException">The scope is disposed.</exception>
    public ScopedTimer After(TimeSpan due, Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        TimerArguments.Due(due, allowInfinite: true, nameof(due));
        return StartTimer(callback, due, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Runs <paramref name="callback"/> every <paramref name="period"/> (the <c>setInterval</c> of the scope).</summary>
    /// <param name="period">The interval between callbacks; also the delay before the first one.</param>
    /// <param name="callback">The callback; runs on a thread-pool thread (or inside the fake clock's advance).</param>
    /// <returns>The timer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="period"/> is under 1 millisecond or too large (system timers truncate to whole milliseconds).</exception>
    /// <exception cref="ObjectDisposedException">The scope is disposed.</exception>
    public ScopedTimer Every(TimeSpan period, Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        TimerArguments.Period(period, nameof(period));
        return StartTimer(callback, period, period);
    }

    /// <summary>Runs the asynchronous <paramref name="callback"/> once after <paramref name="due"/>; the timer counts as
    /// running until the whole body has returned (so failures after an <see langword="await"/> are reported and
    /// <see cref="DisposeAsync"/> waits for it).</summary>
    /// <param name="due">The delay; <see cref="Timeout.InfiniteTimeSpan"/> creates the timer paused.</param>
    /// <param name="callback">The body; receives a token cancelled when the timer or the scope ends.</param>
    /// <returns>The timer; it leaves the scope after its body has returned.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="due"/> is negative or too large.</exception>
    /// <exception cref="ObjectDisposedException">The scope is disposed.</exception>
    public ScopedTimer After(TimeSpan due, Func<CancellationToken, ValueTask> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        TimerArguments.Due(due, allowInfinite: true, nameof(due));
        return StartTimer(new AsyncTimerCallback(callback), due, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Runs the asynchronous <paramref name="callback"/> once after <paramref name="due"/>, as
    /// <see cref="After(TimeSpan, Func{CancellationToken, ValueTask})"/>; an <c>async () =&gt; …</c> lambda binds here,
    /// not to <see cref="After(TimeSpan, Action)"/> as an <see langword="async"/> <see langword="void"/> method.</summary>
    /// <param name="due">The delay; <see cref="Timeout.InfiniteTimeSpan"/> creates the timer paused.</param>
    /// <param name="callback">The body.</param>
    /// <returns>The timer; it leaves the scope after its body has returned.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="due"/> is negative or too large.</exception>
    /// <exception cref="ObjectDisposedException">The scope is disposed.</exception>
    public ScopedTimer After(TimeSpan due, Func<ValueTask> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        TimerArguments.Due(due, allowInfinite: true, nameof(due));
        return StartTimer(new AsyncTimerCallback(callback), due, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Runs the asynchronous <paramref name="callback"/> every <paramref name="period"/>; each run counts as
    /// running until its whole body has returned (failures after an <see langword="await"/> are reported and
    /// <see cref="DisposeAsync"/> waits for it). Runs overlap when one takes longer than the period; use
    /// <see cref="Loop(TimeSpan, Func{CancellationToken, ValueTask})"/> for runs that never overlap.</summary>
    /// <param name="period">The interval between runs; also the delay before the first one.</param>
    /// <param name="callback">The body; receives a token cancelled when the timer or the scope ends.</param>
    /// <returns>The timer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="period"/> is under 1 millisecond or too large (system timers truncate to whole milliseconds).</exception>
    /// <exception cref="ObjectDisposedException">The scope is disposed.</exception>
    public ScopedTimer Every(TimeSpan period, Func<CancellationToken, ValueTask> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        TimerArguments.Period(period, nameof(period));
        return StartTimer(new AsyncTimerCallback(callback), period, period);
    }

    /// <summary>Runs the asynchronous <paramref name="callback"/> every <paramref name="period"/>, as
    /// <see cref="Every(TimeSpan, Func{CancellationToken, ValueTask})"/>; an <c>async () =&gt; …</c> lambda binds here,
    /// not to <see cref="Every(TimeSpan, Action)"/> as an <see langword="async"/> <see langword="void"/> method.</summary>
    /// <param name="period">The interval between runs; also the delay before the first one.</param>
    /// <param name="callback">The body.</param>
    /// <returns>The timer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="callback"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="period"/> is under 1 millisecond or too large (system timers truncate to whole milliseconds).</exception>
    /// <exception cref="ObjectDisposedException">The scope is disposed.</exception>
    public ScopedTimer Every(TimeSpan period, Func<ValueTask> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        TimerArguments.Period(period, nameof(period));
        return StartTimer(new AsyncTimerCallback(callback), period, period);
    }

    /// <summary>Runs <paramref name="callback"/> once after <paramref name="due"/> with <paramref name="owner"/>, which
    /// the timer holds only weakly; if the owner is collected first, the timer retires without calling back.</summary>
    /// <typeparam name="TOwner">The owner's type.</typeparam>
    /// <param name="owner">The object the callback works on; held weakly.</param>
    /// <param name="due">The delay; <see cref="Timeout.InfiniteTimeSpan"/> creates the timer paused.</param>
    /// <param name="callback">A callback that receives the owner; use a <see langword="static"/> lambda, since a
    /// callback that captures the owner keeps it alive.</param>
    /// <returns>The timer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="owner"/> or <paramref name="callback"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="callback"/> is an instance method of <paramref name="owner"/>
    /// (it would keep the owner alive).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="due"/> is negative or too large.</exception>
    /// <exception cref="ObjectDisposedException">The scope is disposed.</exception>
    public ScopedTimer After<TOwner>(TOwner owner, TimeSpan due, Action<TOwner> callback)
        where TOwner : class
    {
        CheckOwnerCallback(owner, callback);
        TimerArguments.Due(due, allowInfinite: true, nameof(due));
        return StartTimer(new OwnerCallback<TOwner>(owner, callback), due, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Runs <paramref name="callback"/> every <paramref name="period"/> with <paramref name="owner"/>, which
    /// the timer holds only weakly; the timer stops itself at the first tick after the owner is collected.</summary>
    /// <typeparam name="TOwner">The owner's type.</typeparam>
    /// <param name="owner">The object the callback works on; held weakly.</param>
    /// <param name="period">The interval between callbacks; also the delay before the first one.</param>
    /// <param name="callback">A callback that receives the owner; use a <see langword="static"/> lambda, since a
    /// callback that captures the owner keeps it alive.</param>
    /// <returns>The timer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="owner"/> or <paramref name="callback"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="callback"/> is an instance method of <paramref name="owner"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="period"/> is under 1 millisecond or too large (system timers truncate to whole milliseconds).</exception>
    /// <exception cref="ObjectDisposedException">The scope is disposed.</exception>
    public ScopedTimer Every<TOwner>(TOwner owner, TimeSpan period, Action<TOwner> callback)
        where TOwner : class
    {
        CheckOwnerCallback(owner, callback);
        TimerArguments.Period(period, nameof(period));
        return StartTimer(new OwnerCallback<TOwner>(owner, callback), period, period);
    }

    /// <summary>
    /// Runs <paramref name="body"/> with <paramref name="owner"/> every <paramref name="interval"/>, waiting for each
    /// body to finish before the next interval starts (the <c>setTimeout</c> chain, done right). The loop holds the
    /// owner only weakly across its awaits and ends once the owner is collected.
    /// </summary>
    /// <typeparam name="TOwner">The owner's type.</typeparam>
    /// <param name="owner">The object the body works on; held weakly.</param>
    /// <param name="interval">The wait before each body call.</param>
    /// <param name="body">The body; receives the owner and a token cancelled when the loop or the scope ends. Use a
    /// <see langword="static"/> lambda.</param>
    /// <returns>The loop.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="owner"/> or <paramref name="body"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="body"/> is an instance method of <paramref name="owner"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is under 1 millisecond or too large (system timers truncate to whole milliseconds).</exception>
    /// <exception cref="ObjectDisposedException">The scope is disposed.</exception>
    public ScopedLoop Loop<TOwner>(TOwner owner, TimeSpan interval, Func<TOwner, CancellationToken, ValueTask> body)
        where TOwner : class
    {
        CheckOwnerCallback(owner, body);
        TimerArguments.Period(interval, nameof(interval));
        return StartLoop(new LoopBody<TOwner>(owner, body), interval);
    }

    private ScopedLoop StartLoop(LoopBody body, TimeSpan interval)
    {
        var loop = new ScopedLoop(_self, body, interval);
        try
        {
            Add(loop);
        }
        catch (ObjectDisposedException)
        {
            loop.Dispose();
            throw;
        }

        loop.Start(TimeProvider);
        return loop;
    }

    /// <summary>
    /// Runs <paramref name="body"/> every <paramref name="interval"/>, waiting for each body to finish before the next
    /// interval starts (a fixed delay between runs, not a fixed rate), until the loop or the scope is disposed.
    /// </summary>
    /// <param name="interval">The wait before each body call.</param>
    /// <param name="body">The body; receives a token cancelled when the loop or the scope ends. The loop holds it
    /// (and what it captures) strongly until then: use the owner overload for a body that works on an object that
    /// should stay collectable.</param>
    /// <returns>The loop.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is under 1 millisecond or too large (system timers truncate to whole milliseconds).</exception>
    /// <exception cref="ObjectDisposedException">The scope is disposed.</exception>
    public ScopedLoop Loop(TimeSpan interval, Func<CancellationToken, ValueTask> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        TimerArguments.Period(interval, nameof(interval));
        return StartLoop(new OwnerlessLoopBody(body), interval);
    }

    /// <summary>Waits <paramref name="due"/> on the scope's clock; the task ends cancelled if the scope is disposed or
    /// <paramref name="cancellationToken"/> is cancelled first. Unlike an abandoned <see cref="Task.Delay(TimeSpan)"/>,
    /// a pending delay leaves the clock's timer queue when its scope is disposed.</summary>
    /// <remarks>A scope dropped without <see cref="Dispose"/> and collected does not end its delays as it is
    /// collected: a pending delay learns it at its due time and ends cancelled, not completed. A
    /// <see cref="Timeout.InfiniteTimeSpan"/> delay of such a scope has no due time: it ends only when
    /// <paramref name="cancellationToken"/> is cancelled (until then that token holds the delay and what awaits it),
    /// and without a token it never ends.</remarks>
    /// <param name="due">The delay; <see cref="Timeout.InfiniteTimeSpan"/> waits until cancelled.</param>
    /// <param name="cancellationToken">Cancels the delay.</param>
    /// <returns>A task that completes after the delay.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="due"/> is negative or too large.</exception>
    /// <exception cref="ObjectDisposedException">The scope is disposed.</exception>
    public Task Delay(TimeSpan due, CancellationToken cancellationToken = default)
    {
        TimerArguments.Due(due, allowInfinite: true, nameof(due));
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        if (due == TimeSpan.Zero)
        {
            return Task.CompletedTask;
        }

        var delay = new ScopedDelay(_self);
        try
        {
            Add(delay);
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: end the delay, which uncounts it.
            ((IScopeMember)delay).CloseFromScope(report: false);
            throw;
        }

        delay.Start(TimeProvider, due, cancellationToken);
        return delay.Task;
    }

    /// <summary>Returns a token that is cancelled after <paramref name="delay"/> or when the scope is disposed,
    /// whichever comes first. The scope owns its source and disposes it once it has been cancelled.</summary>
    /// <param name="delay">The timeout; <see cref="Timeout.InfiniteTimeSpan"/> cancels only when the scope is disposed.</param>
    /// <returns>The token.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative or too large.</exception>
    /// <exception cref="ObjectDisposedException">The scope is disposed.</exception>
    public CancellationToken CancelAfter(TimeSpan delay)
    {
        TimerArguments.Due(delay, allowInfinite: true, nameof(delay));
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (delay == TimeSpan.Zero)
        {
            return new CancellationToken(canceled: true);
        }

        var cancellation = new ScopedCancellation(_self);
        try
        {
            Add(cancellation);
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: end the source, which uncounts it (nobody has its token, so nothing can throw).
            ((IScopeMember)cancellation).CloseFromScope(report: false);
            throw;
        }

        cancellation.Start(TimeProvider, delay);
        return cancellation.Token;
    }

    /// <summary>Creates a scope on the same clock that is disposed when this one is (if it is still referenced then).</summary>
    /// <returns>The child scope; its failures go to its own <see cref="Error"/> handler, else to this scope's. This scope
    /// holds it only weakly: keep it referenced for as long as its timers should run. A callback or loop body of the
    /// child that is running keeps the child alive until it returns, so disposing this scope still stops it and
    /// <see cref="DisposeAsync"/> waits for it.</returns>
    /// <exception cref="ObjectDisposedException">The scope is disposed.</exception>
    public TimerScope CreateChild()
    {
        var child = new TimerScope(TimeProvider, this) { Logger = Logger, Name = _name, MeterFactory = _meterFactory };
        child._memberInParent = new ChildScopeMember(child._self);
        Add(child._memberInParent);
        return child;
    }

    /// <summary>Stops everything the scope owns and cancels <see cref="Token"/>. After it returns (the first call or
    /// any later one) no new callback starts; it does not wait for callbacks that are running.</summary>
    /// <exception cref="AggregateException">Cancellation callbacks (of <see cref="Token"/>, a loop's token or a
    /// <see cref="CancelAfter(TimeSpan)"/> token) or the <c>Dispose</c> of one of the clock's <see cref="ITimer"/>s threw; everything was
    /// still stopped, as <see cref="CancellationTokenSource.Cancel()"/> would report it.</exception>
    public void Dispose() => DisposeCore(fromParent: false);

    /// <summary>Disposes the scope for its cancelled <c>lifetime</c> token: whoever cancelled it did not ask for the
    /// disposal, so the failures <see cref="Dispose"/> would throw are reported instead; never throws.</summary>
    internal void DisposeForLifetime() => DisposeCore(fromParent: false, forLifetime: true);

    /// <summary>Stops everything the scope owns, cancels <see cref="Token"/> and completes when no callback or loop
    /// body of the scope is running and none can start.</summary>
    /// <returns>A task that completes when running callbacks have finished; it faults with
    /// <see cref="InvalidOperationException"/> when awaited inside one of the scope's own callbacks (which it would wait
    /// for forever), and with the <see cref="AggregateException"/> <see cref="Dispose"/> would throw.</returns>
    public ValueTask DisposeAsync() => DisposeThenWait(checkOwnCallback: true);

    bool IIdleAwaitable.IsCallingFromOwnCallback => IsCallingFromOwnCallback();

    ValueTask IIdleAwaitable.DisposeThenWhenIdleAsync() => DisposeThenWait(checkOwnCallback: false);

    private ValueTask DisposeThenWait(bool checkOwnCallback)
    {
        AggregateException? failure = null;
        try
        {
            DisposeCore(fromParent: false);
        }
        catch (AggregateException ex)
        {
            failure = ex;
        }

        if (checkOwnCallback && IsCallingFromOwnCallback())
        {
            // Checked also when the disposal threw: waiting to rethrow would wait for this callback too.
            return ValueTask.FromException(new InvalidOperationException(
                "TimerScope.DisposeAsync was awaited inside one of the scope's own callbacks, which it would wait for forever. Call Dispose there instead.",
                failure));
        }

        return failure is null ? WhenIdleAsync() : ThrowWhenIdleAsync(failure);
    }

    /// <summary>Gets whether the caller runs inside a callback or loop body (also after an await in it) that the
    /// scope's disposal waits for (frames end with their call, so no disposal state needs checking).</summary>
    /// <remarks>One rule at every stage of the disposal: the scope waits for every callback and body of it or of a
    /// child scope that runs once it is disposed (none starts after, and one that runs keeps its cell in the table, so
    /// the disposal finds it), so the flow's own running callback of this scope or a child is one it waits for.</remarks>
    internal bool IsCallingFromOwnCallback()
    {
        // Timers and loops enter their calls with their scope as the frame's state; frames of other features (an event
        // handler a callback raised) are skipped.
        for (var frame = EnclosingCallbacks.Innermost; frame is not null; frame = frame.Outer)
        {
            if (!frame.HasEnded && frame.State is WeakReference<TimerScope> owner && owner.TryGetTarget(out var target)
                && target.IsSelfOrChildOf(this))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Gets whether this scope is <paramref name="scope"/> or one of its descendants.</summary>
    internal bool IsSelfOrChildOf(TimerScope scope)
    {
        for (var current = this; current is not null; current = current._parent)
        {
            if (ReferenceEquals(current, scope))
            {
                return true;
            }
        }

        return false;
    }

    void IScopeMember.CloseFromScope(bool report) => DisposeCore(fromParent: true, forLifetime: report);

    ValueTask IScopeMember.WhenIdleAsync() => WhenIdleAsync();

    /// <summary>
    /// Counts one new item in <c>saferefs.timer.active</c>, listened to or not, so that a listener attaching late reads
    /// the exact number (see <see cref="TimerCount.Started"/>) and <see cref="ActiveCount"/> reads it too; returns what
    /// the scope's items share, whose count the item lowers when it ends.
    /// </summary>
    internal ScopeShared CountTimerStarted()
    {
        var shared = Volatile.Read(ref _shared);
        if (shared is null)
        {
            var created = new ScopeShared(_self, TimeProvider, new LiveCountTracker(Metrics.TimerInstruments.ScopeTag(_name)));
            shared = Interlocked.CompareExchange(ref _shared, created, null);
            if (shared is null)
            {
                _metrics.Timers.Register(this, created.Count);
                shared = created;
            }
        }

        shared.Count.Increment();
        return shared;
    }

    internal static void NoteRetiredWithCollectedScope() => Interlocked.Increment(ref _retiredWithCollectedScope);

    internal void Remove(IScopeMember member)
    {
        lock (_lock)
        {
            if (!_disposed)
            {
                _table.Remove(member);
            }
        }
    }

    private static void CheckOwnerCallback<TOwner>(TOwner owner, Delegate callback)
        where TOwner : class
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(callback);
        if (ReferenceEquals(callback.Target, owner))
        {
            throw new ArgumentException(
                "The callback is an instance method of the owner, so it would keep the owner alive; use a static lambda that receives the owner.",
                nameof(callback));
        }
    }

    // callback: an Action, an AsyncTimerCallback or an OwnerCallback.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ScopedTimer StartTimer(object callback, TimeSpan due, TimeSpan period)
    {
        var timer = new ScopedTimer(this, callback, period);
        if (!TryAddTimer(timer))
        {
            timer.Dispose();
            ThrowDisposed();
        }

        timer.Start(due, period);
        return timer;
    }

    private void Add(IScopeMember member)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                ThrowDisposed();
            }

            _table.Add(member);
        }
    }

    [DoesNotReturn]
    private void ThrowDisposed() => throw new ObjectDisposedException(GetType().FullName);

    private bool TryAddTimer(ScopedTimer timer)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return false;
            }

            _table.AddTimer(timer);
            return true;
        }
    }

    private void DisposeCore(bool fromParent, bool forLifetime = false)
    {
        ScopeMemberTable.Cell[] members;
        int used;
        CancellationTokenSource? cts;
        TaskCompletionSource idle;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _idle = idle;
            members = _table.TakeAll(out used);
            cts = _cts;
        }

        _lifetime?.Dispose();
        List<Exception>? errors = null;
        for (var i = 0; i < used; i++)
        {
            if (members[i].Member is { } member)
            {
                member.Index = -1;
                try
                {
                    member.CloseFromScope(report: forLifetime);
                }
                catch (AggregateException ex)
                {
                    // A token callback of a loop, a CancelAfter source or a child scope threw: the rest still closes.
                    (errors ??= []).AddRange(ex.InnerExceptions);
                }
#pragma warning disable CA1031 // The clock's ITimer.Dispose is user code: the rest still closes, the disposer sees it.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    (errors ??= []).Add(ex);
                }
            }
        }

        // Every close above is a full-fence exchange, and a callback raises its running count (a full fence) before
        // it reads its close: either it is seen running here, or it sees its close and does not start.
        List<IScopeMember>? busy = null;
        for (var i = 0; i < used; i++)
        {
            if (members[i].Member is { IsBusy: true } member)
            {
                (busy ??= []).Add(member);
            }
        }

        if (cts is not null)
        {
            try
            {
                cts.Cancel();
            }
            catch (AggregateException ex)
            {
                (errors ??= []).AddRange(ex.InnerExceptions);
            }
            finally
            {
                cts.Dispose();
            }
        }

        if (busy is null)
        {
            idle.TrySetResult();
        }
        else
        {
            _ = CompleteWhenIdleAsync(busy, idle);
        }

        if (!fromParent && _memberInParent is { } inParent)
        {
            _parent?.Remove(inParent);
        }

        if (errors is not null && forLifetime)
        {
            // The lifetime's canceller (a host's stopping token, a CancelAfter timer thread) is no caller of this
            // disposal: a failure thrown into it would fail it, or end the process from a timer thread. The members
            // (child scopes included) reported their own failures; what is left is this scope's Token callbacks'.
            foreach (var error in errors)
            {
                ReportFailure(this, error, null, null);
            }
        }
        else if (errors is not null)
        {
            // As CancellationTokenSource.Cancel does: everything was stopped first, then the callbacks' failures
            // surface to the caller of the disposal.
            var failure = new AggregateException("Disposing a timer scope: some cancellation callbacks or timers of the clock threw.", errors);
            if (!fromParent)
            {
                // Logged once, by the disposal that was asked for: a child's failures are in its parent's aggregate.
                try
                {
                    Log.TimerScopeCancellationFailed(Logger ?? Diagnostics.SafeRefsLog.Logger, failure);
                }
#pragma warning disable CA1031 // A logger is user code too: the disposer gets the failures, not the logger's.
                catch (Exception)
#pragma warning restore CA1031
                {
                }
            }

            throw failure;
        }
    }

    private async ValueTask ThrowWhenIdleAsync(AggregateException failure)
    {
        await WhenIdleAsync().ConfigureAwait(false);
        throw failure;
    }

    private static async Task CompleteWhenIdleAsync(List<IScopeMember> busy, TaskCompletionSource idle)
    {
        foreach (var member in busy)
        {
            await member.WhenIdleAsync().ConfigureAwait(false);
        }

        idle.TrySetResult();
    }

    /// <summary>Completes when nothing that ran at the first disposal still runs; completed if not disposed.</summary>
    internal ValueTask WhenIdleAsync() => Volatile.Read(ref _idle) is { } idle ? new ValueTask(idle.Task) : default;
}
