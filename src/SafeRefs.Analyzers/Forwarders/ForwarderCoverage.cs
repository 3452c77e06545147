namespace SafeRefs.Analyzers.Forwarders;

/// <summary>What a call's delegate type gets: a built-in forwarder, a generated one, or none (and why not).</summary>
internal enum ForwarderCoverage
{
    /// <summary>Not a call the forwarders concern, or a type that does not bind (the compiler reports it).</summary>
    None,

    /// <summary>The library forwards the type by itself.</summary>
    BuiltIn,

    /// <summary>The generator registers a forwarder for the type.</summary>
    Generated,

    /// <summary>The delegate type is, or contains, a type parameter: unknown at compile time.</summary>
    TypeParameter,

    /// <summary>The generator cannot write a forwarder for the type.</summary>
    Unsupported,
}
