namespace SafeRefs.Events.Internal;

/// <summary>
/// What a raise of a weak event does with a handler's exception: the options' <see cref="WeakEventOptions.ExceptionHandler"/>
/// may mark it handled (the raise goes on); otherwise <see cref="HandlerExceptionMode"/> decides. One copy for the
/// three weak events, taken from the options when the event is constructed.
/// </summary>
internal readonly struct RaiseExceptionPolicy
{
    private readonly HandlerExceptionMode _mode;
    private readonly Func<Exception, bool>? _handler;

    internal RaiseExceptionPolicy(WeakEventOptions? options)
    {
        _mode = options?.ExceptionMode ?? HandlerExceptionMode.Propagate;
        _handler = options?.ExceptionHandler;
    }

    /// <summary>
    /// Gets a value indicating whether a handler's exception just propagates: the raise needs no <c>try</c>/<c>catch</c>
    /// (the allocation-free fast path).
    /// </summary>
    internal bool IsPlainPropagate => _mode == HandlerExceptionMode.Propagate && _handler is null;

    /// <summary>Throws one <see cref="AggregateException"/> with the collected exceptions, if any.</summary>
    internal static void ThrowIfAny(List<Exception>? errors)
    {
        if (errors is not null)
        {
            throw new AggregateException(errors);
        }
    }

    /// <summary>
    /// Called in the <c>catch</c> of a handler: <see langword="true"/> when the raise goes on (the exception was marked
    /// handled, or collected for the aggregate); <see langword="false"/> when the caller must rethrow it. An exception
    /// of the exception handler itself propagates (the raise's caller ran it).
    /// </summary>
    internal bool TryAbsorb(Exception exception, ref List<Exception>? errors)
    {
        if (_handler is not null && _handler(exception))
        {
            return true;
        }

        if (_mode == HandlerExceptionMode.Propagate)
        {
            return false;
        }

        (errors ??= []).Add(exception);
        return true;
    }
}
