namespace SafeRefs.Timers;

/// <summary>Describes an exception thrown by a timer callback or a loop body owned by a <see cref="TimerScope"/>.</summary>
/// <remarks>
/// <para><b>Holds</b> the exception and the failing timer or loop strongly; keep the arguments only as long as the
/// handler runs.</para>
/// <para><b>Thread safety:</b> immutable. Raised on the thread that ran the failing callback.</para>
/// </remarks>
public sealed class TimerErrorEventArgs : EventArgs
{
    /// <summary>Initializes a new instance of the <see cref="TimerErrorEventArgs"/> class.</summary>
    /// <param name="exception">The exception thrown by the callback.</param>
    /// <param name="timer">The timer whose callback failed, or <see langword="null"/>.</param>
    /// <param name="loop">The loop whose body failed, or <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="exception"/> is <see langword="null"/>.</exception>
    public TimerErrorEventArgs(Exception exception, ScopedTimer? timer, ScopedLoop? loop)
    {
        ArgumentNullException.ThrowIfNull(exception);
        Exception = exception;
        Timer = timer;
        Loop = loop;
    }

    /// <summary>Gets the exception thrown by the callback or body.</summary>
    /// <value>Never <see langword="null"/>.</value>
    public Exception Exception { get; }

    /// <summary>Gets the timer whose callback failed.</summary>
    /// <value><see langword="null"/> when the failure came from a loop or from the scope itself.</value>
    public ScopedTimer? Timer { get; }

    /// <summary>Gets the loop whose body failed.</summary>
    /// <value><see langword="null"/> when the failure came from a timer or from the scope itself.</value>
    public ScopedLoop? Loop { get; }
}
