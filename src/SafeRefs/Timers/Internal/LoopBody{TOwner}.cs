namespace SafeRefs.Timers.Internal;

/// <summary>The typed <see cref="LoopBody"/>.</summary>
internal sealed class LoopBody<TOwner> : LoopBody
    where TOwner : class
{
    private readonly WeakReference<TOwner> _owner;
    private readonly Func<TOwner, CancellationToken, ValueTask> _body;

    public LoopBody(TOwner owner, Func<TOwner, CancellationToken, ValueTask> body)
    {
        _owner = new WeakReference<TOwner>(owner);
        _body = body;
    }

    public override bool TryStart(CancellationToken cancellationToken, out ValueTask run)
    {
        if (!_owner.TryGetTarget(out var owner))
        {
            run = default;
            return false;
        }

        try
        {
            run = _body(owner, cancellationToken);
        }
#pragma warning disable CA1031 // Surfaced through the returned task like an exception of an async body.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            run = ValueTask.FromException(ex);
        }

        return true;
    }
}
