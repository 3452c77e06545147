using Microsoft.CodeAnalysis;

namespace SafeRefs.Analyzers.Forwarders;

/// <summary>
/// Finds the delegate type of a call to <c>Subscribe.Event&lt;TSource, THandler&gt;</c> or
/// <c>PoolLease&lt;T&gt;.On&lt;THandler&gt;</c> and decides whether it needs,
/// and can get, a generated forwarder. Shared by <see cref="EventForwarderGenerator"/> and
/// <see cref="ForwarderCoverageAnalyzer"/>, so the analyzer reports exactly the calls the generator leaves uncovered.
/// </summary>
internal static class ForwarderTargets
{
    /// <summary>The metadata name of the registration point the generated code calls.</summary>
    public const string RegistryName = "SafeRefs.Subscriptions.EventForwarders";

    /// <summary>The delegate types the library forwards by itself in its <c>THandler</c> overloads.</summary>
    private static readonly HashSet<string> BuiltIn =
    [
        "global::System.EventHandler",
        "global::System.Action",
        "global::System.ComponentModel.PropertyChangedEventHandler",
        "global::System.ComponentModel.PropertyChangingEventHandler",
        "global::System.Collections.Specialized.NotifyCollectionChangedEventHandler",
    ];

    /// <summary>Gets the <c>THandler</c> of a call to a method whose delegate type the forwarders serve, or <see langword="null"/>.</summary>
    public static ITypeSymbol? HandlerType(IMethodSymbol method)
    {
        var definition = method.OriginalDefinition;
        if (definition.TypeParameters.Length == 0
            || definition.TypeParameters[definition.TypeParameters.Length - 1].Name != "THandler"
            || !IsServed(definition))
        {
            return null;
        }

        return method.TypeArguments[method.TypeArguments.Length - 1];
    }

    /// <summary>Decides what <paramref name="type"/> gets; for <see cref="ForwarderCoverage.Unsupported"/>, says why.</summary>
    public static ForwarderCoverage Classify(ITypeSymbol type, Compilation compilation, out string? reason)
    {
        reason = null;
        if (type.TypeKind == TypeKind.Error)
        {
            return ForwarderCoverage.None;
        }

        if (ContainsTypeParameter(type))
        {
            return ForwarderCoverage.TypeParameter;
        }

        if (type is not INamedTypeSymbol { TypeKind: TypeKind.Delegate, DelegateInvokeMethod: { } invoke } named)
        {
            reason = "it is not a concrete delegate type";
            return ForwarderCoverage.Unsupported;
        }

        if (BuiltIn.Contains(named.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat)))
        {
            return ForwarderCoverage.BuiltIn;
        }

        if (invoke.ReturnsByRef || invoke.ReturnsByRefReadonly)
        {
            reason = "it returns by reference";
            return ForwarderCoverage.Unsupported;
        }

        var signature = invoke.Parameters.Select(static p => p.Type).Prepend(invoke.ReturnType).Prepend(named);
        foreach (var part in signature)
        {
            if (Unreachable(part, compilation) is { } inaccessible)
            {
                reason = inaccessible;
                return ForwarderCoverage.Unsupported;
            }
        }

        return ForwarderCoverage.Generated;
    }

    // Subscribe.Event<TSource, THandler> and PoolLease<T>.On<THandler>.
    private static bool IsServed(IMethodSymbol definition) => definition switch
    {
        { Name: "Event", ContainingType: { Name: "Subscribe", ContainingNamespace: { Name: "Subscriptions" } namespaceSymbol } } => IsSafeRefs(namespaceSymbol),
        { Name: "On", ContainingType: { Name: "PoolLease", ContainingNamespace: { Name: "Pooling" } namespaceSymbol } } => IsSafeRefs(namespaceSymbol),
        _ => false,
    };

    private static bool IsSafeRefs(INamespaceSymbol feature) =>
        feature.ContainingNamespace is { Name: "SafeRefs", ContainingNamespace.IsGlobalNamespace: true };

    private static bool ContainsTypeParameter(ITypeSymbol type) => type switch
    {
        ITypeParameterSymbol => true,
        IArrayTypeSymbol array => ContainsTypeParameter(array.ElementType),
        IPointerTypeSymbol pointer => ContainsTypeParameter(pointer.PointedAtType),
        INamedTypeSymbol named => named.TypeArguments.Any(ContainsTypeParameter)
            || (named.ContainingType is { } container && ContainsTypeParameter(container)),
        _ => false,
    };

    // Why generated code (a class of its own in the compilation) cannot name the type, or null when it can.
    private static string? Unreachable(ITypeSymbol type, Compilation compilation)
    {
        switch (type)
        {
            case IPointerTypeSymbol or IFunctionPointerTypeSymbol:
                return "its signature uses a pointer type";
            case IArrayTypeSymbol array:
                return Unreachable(array.ElementType, compilation);
            case INamedTypeSymbol named:
                if (named.IsAnonymousType || !compilation.IsSymbolAccessibleWithin(named.OriginalDefinition, compilation.Assembly))
                {
                    return $"'{named.ToDisplayString(SymbolDisplayFormat.CSharpShortErrorMessageFormat)}' is not accessible from generated code";
                }

                return named.TypeArguments.Select(t => Unreachable(t, compilation)).FirstOrDefault(static r => r is not null);
            default:
                return null;
        }
    }
}
