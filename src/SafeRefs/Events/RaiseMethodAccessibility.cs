namespace SafeRefs.Events;

/// <summary>The accessibility of the raise method that <see cref="WeakEventAttribute"/> generates.</summary>
public enum RaiseMethodAccessibility
{
    /// <summary><see langword="private"/> in a sealed or static class, <see langword="protected"/> otherwise.</summary>
    Default = 0,

    /// <summary><see langword="private"/>.</summary>
    Private = 1,

    /// <summary><see langword="private protected"/>.</summary>
    PrivateProtected = 2,

    /// <summary><see langword="protected"/>.</summary>
    Protected = 3,

    /// <summary><see langword="internal"/>.</summary>
    Internal = 4,

    /// <summary><see langword="protected internal"/>.</summary>
    ProtectedInternal = 5,

    /// <summary><see langword="public"/>.</summary>
    Public = 6,
}
