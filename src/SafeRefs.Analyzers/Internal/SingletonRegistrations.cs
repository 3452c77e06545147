using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace SafeRefs.Analyzers.Internal;

/// <summary>
/// The simple names of the types the compilation registers as DI singletons (<c>AddSingleton&lt;IService, Impl&gt;()</c>,
/// <c>AddSingleton(typeof(Impl))</c>, <c>AddSingleton(sp =&gt; new Impl(...))</c>, <c>AddHostedService&lt;Impl&gt;()</c>,
/// <c>ServiceDescriptor.Singleton&lt;IService, Impl&gt;()</c>). Found by one syntax pass over the compilation, made
/// the first time a rule asks (an <c>OnChange</c> in a constructor, an unremoved <c>+=</c>), so a compilation
/// without one pays nothing.
/// </summary>
internal sealed class SingletonRegistrations
{
    private static readonly ImmutableHashSet<string> SingletonMethods = ImmutableHashSet.Create(
        "AddSingleton", "TryAddSingleton", "AddKeyedSingleton", "TryAddKeyedSingleton", "AddHostedService", "Singleton", "KeyedSingleton");

    private readonly Lazy<HashSet<string>> _names;

    public SingletonRegistrations(Compilation compilation) =>
        _names = new Lazy<HashSet<string>>(() => Collect(compilation), LazyThreadSafetyMode.ExecutionAndPublication);

    public bool Contains(INamedTypeSymbol type) => _names.Value.Contains(type.Name);

    private static HashSet<string> Collect(Compilation compilation)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var tree in compilation.SyntaxTrees)
        {
            foreach (var node in tree.GetRoot().DescendantNodes())
            {
                if (node is not InvocationExpressionSyntax invocation)
                {
                    continue;
                }

                var name = invocation.Expression switch
                {
                    MemberAccessExpressionSyntax member => member.Name,
                    SimpleNameSyntax simple => simple,
                    _ => null,
                };
                if (name is null || !SingletonMethods.Contains(name.Identifier.ValueText))
                {
                    continue;
                }

                if (name is GenericNameSyntax generic)
                {
                    foreach (var argument in generic.TypeArgumentList.Arguments)
                    {
                        AddName(names, argument);
                    }
                }

                foreach (var inner in invocation.ArgumentList.DescendantNodes())
                {
                    switch (inner)
                    {
                        case TypeOfExpressionSyntax typeOf:
                            AddName(names, typeOf.Type);
                            break;
                        case ObjectCreationExpressionSyntax creation:
                            AddName(names, creation.Type);
                            break;
                    }
                }
            }
        }

        return names;
    }

    private static void AddName(HashSet<string> names, TypeSyntax type)
    {
        var simple = type switch
        {
            QualifiedNameSyntax qualified => qualified.Right,
            AliasQualifiedNameSyntax alias => alias.Name,
            SimpleNameSyntax name => name,
            _ => null,
        };
        if (simple is not null)
        {
            names.Add(simple.Identifier.ValueText);
        }
    }
}
