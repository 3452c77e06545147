namespace SafeRefs.Events;

/// <summary>
/// What <see cref="WeakEvent{TArgs}.Add"/> does with a handler whose target is a compiler-generated closure that
/// nothing else references (a lambda or local function that captures variables).
/// </summary>
public enum ClosurePolicy
{
    /// <summary>
    /// Throw an <see cref="ArgumentException"/> telling the caller to use
    /// <see cref="WeakEvent{TArgs}.Subscribe{TOwner}(TOwner, Action{TOwner, object?, TArgs})"/>: held weakly, such a
    /// closure would be collected at the next GC and the handler would silently stop firing. The default.
    /// </summary>
    Throw = 0,

    /// <summary>Accept the closure and hold it weakly, knowing that it stops firing once the closure is collected.</summary>
    Allow = 1,
}
