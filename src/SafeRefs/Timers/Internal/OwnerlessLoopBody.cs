
namespace SafeRefs.Timers.Internal;

/// <summary>The body of a loop created without an owner: it runs until the loop or its scope ends.</summary>
internal sealed class OwnerlessLoopBody(Func<CancellationToken, ValueTask> body) : LoopBody
{
    public override bool TryStart(CancellationToken cancellationToken, out ValueTask run)
    {
        try
        {
            run = body(cancellationToken);
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
