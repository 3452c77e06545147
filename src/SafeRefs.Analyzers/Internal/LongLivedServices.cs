using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace SafeRefs.Analyzers.Internal;

/// <summary>
/// Types the host keeps one instance of for the app's lifetime: hosted services (<c>IHostedService</c>, which
/// <c>BackgroundService</c> implements) and the types registered as DI singletons in the compilation.
/// </summary>
internal sealed class LongLivedServices
{
    private static readonly ImmutableHashSet<string> HostedStartMethods = ImmutableHashSet.Create(
        "StartAsync", "StartingAsync", "StartedAsync", "ExecuteAsync");

    private readonly INamedTypeSymbol? _hostedService;
    private readonly SingletonRegistrations _singletons;

    public LongLivedServices(Compilation compilation)
    {
        _hostedService = compilation.GetTypeByMetadataName("Microsoft.Extensions.Hosting.IHostedService");
        _singletons = new SingletonRegistrations(compilation);
    }

    /// <summary>Gets a value indicating whether <paramref name="member"/> is one a host calls once per start
    /// (<c>StartAsync</c>, <c>ExecuteAsync</c>, <c>IHostedLifecycleService</c>'s starting/started methods).</summary>
    public static bool IsHostedStartMethod(ISymbol member) =>
        member is IMethodSymbol { MethodKind: MethodKind.Ordinary, IsStatic: false } method && HostedStartMethods.Contains(method.Name);

    public bool IsHostedService(INamedTypeSymbol type) =>
        _hostedService is not null && type.AllInterfaces.Any(i => SymbolEqualityComparer.Default.Equals(i, _hostedService));

    /// <summary>Gets a value indicating whether the compilation registers a type of that simple name as a singleton
    /// (the first call makes one syntax pass over the compilation).</summary>
    public bool IsRegisteredSingleton(INamedTypeSymbol type) => _singletons.Contains(type);
}
