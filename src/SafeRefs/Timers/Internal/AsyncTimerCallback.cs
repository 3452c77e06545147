namespace SafeRefs.Timers.Internal;

/// <summary>
/// The callback of a timer created with an asynchronous overload of <see cref="TimerScope.After(TimeSpan, Func{CancellationToken, ValueTask})"/>
/// or <c>Every</c>: the body, and the source of the token it receives, cancelled when the timer ends.
/// </summary>
#pragma warning disable CA1001 // The source has no timer, so disposing it would release nothing; a close may still be cancelling it.
internal sealed class AsyncTimerCallback
#pragma warning restore CA1001
{
    private readonly Func<CancellationToken, ValueTask>? _body;
    private readonly Func<ValueTask>? _bodyWithoutToken;
    private readonly CancellationTokenSource? _cts;

    public AsyncTimerCallback(Func<CancellationToken, ValueTask> body)
    {
        _body = body;
        _cts = new CancellationTokenSource();
    }

    public AsyncTimerCallback(Func<ValueTask> body) => _bodyWithoutToken = body;

    /// <summary>Gets a value indicating whether the timer ended, so an <see cref="OperationCanceledException"/> of a
    /// run is the run stopping as asked, not a failure.</summary>
    public bool IsCancellationRequested => _cts?.IsCancellationRequested ?? false;

    /// <summary>Starts one run; a body that throws before its first await throws here.</summary>
    public ValueTask Start() => _body is not null ? _body(_cts!.Token) : _bodyWithoutToken!();

    /// <summary>Cancels the token of the runs (the timer ended); a throwing token callback surfaces as
    /// <see cref="CancellationTokenSource.Cancel()"/> surfaces it.</summary>
    public void Cancel() => _cts?.Cancel();
}
