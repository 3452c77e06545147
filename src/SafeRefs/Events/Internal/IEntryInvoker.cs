namespace SafeRefs.Events.Internal;

/// <summary>Calls one handler of a weak event with the raise's arguments (a struct, so the raise is specialised and allocates nothing).</summary>
internal interface IEntryInvoker
{
    /// <summary>Calls <paramref name="handler"/>; <paramref name="owner"/> is the <c>Subscribe</c> owner, or <see langword="null"/> for an <c>Add</c> handler.</summary>
    void Invoke(object? owner, Delegate handler);
}
