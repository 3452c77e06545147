namespace SafeRefs.Internal;

/// <summary>
/// A registration whose running callbacks an owner that disposes it (a pool lease, a subscription bag) waits for: a
/// subscription, a subscription bag, a timer scope, a timer or a loop. Lets the owner join that wait also from inside
/// one of those callbacks, where the public <see cref="IAsyncDisposable.DisposeAsync"/> faults instead of waiting for
/// itself, and lets it tell when its own wait would wait for its caller.
/// </summary>
internal interface IIdleAwaitable : IAsyncDisposable
{
    /// <summary>Gets whether the caller runs inside a callback of the registration (also after an await in it) that
    /// <see cref="DisposeThenWhenIdleAsync"/> waits for: a wait for it there would wait forever.</summary>
    bool IsCallingFromOwnCallback { get; }

    /// <summary>Disposes, then completes when no callback of the registration runs, as
    /// <see cref="IAsyncDisposable.DisposeAsync"/> but without its own-callback fault: inside such a callback the task
    /// completes once that callback has returned. A disposal failure faults the task after the wait.</summary>
    /// <returns>A task that completes when no callback runs.</returns>
    ValueTask DisposeThenWhenIdleAsync();
}
