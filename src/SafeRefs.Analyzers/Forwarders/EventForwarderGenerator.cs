using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace SafeRefs.Analyzers.Forwarders;

/// <summary>
/// Registers, once per compilation, a gated forwarder for every concrete delegate type passed to
/// <c>Subscribe.Event&lt;TSource, THandler&gt;</c> or <c>PoolLease&lt;T&gt;.On&lt;THandler&gt;</c> that the library does
/// not forward by itself, so that such events keep
/// "no start after <c>Dispose</c>" without reflection. The calls it cannot cover are reported by
/// <see cref="ForwarderCoverageAnalyzer"/> (SR1012).
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class EventForwarderGenerator : IIncrementalGenerator
{
    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // Each call yields the registration's text (value-equal), so an edit elsewhere re-emits nothing.
        var registrations = context.SyntaxProvider.CreateSyntaxProvider(
            static (node, _) => node is InvocationExpressionSyntax invocation && CalledName(invocation.Expression) is "Event" or "On",
            static (syntax, cancellationToken) =>
            {
                if (syntax.SemanticModel.GetSymbolInfo(syntax.Node, cancellationToken).Symbol is not IMethodSymbol method
                    || ForwarderTargets.HandlerType(method) is not INamedTypeSymbol type
                    || ForwarderTargets.Classify(type, syntax.SemanticModel.Compilation, out _) != ForwarderCoverage.Generated)
                {
                    return null;
                }

                return EventForwarderEmitter.Registration(type);
            })
            .Where(static registration => registration is not null)
            .Collect();

        var enabled = context.CompilationProvider.Select(static (compilation, _) =>
            compilation.GetTypeByMetadataName(ForwarderTargets.RegistryName) is not null
            && compilation.GetTypeByMetadataName("System.Runtime.CompilerServices.ModuleInitializerAttribute") is not null);

        context.RegisterSourceOutput(registrations.Combine(enabled), static (output, input) =>
        {
            var (found, isEnabled) = input;
            if (!isEnabled || found.IsEmpty)
            {
                return;
            }

            // Ordinal order of the text, which starts with the type's name: the same file whatever the order of the calls.
            var distinct = found.Distinct().OrderBy(static r => r, StringComparer.Ordinal).Select(static r => r!);
            output.AddSource(EventForwarderEmitter.HintName, EventForwarderEmitter.Emit(distinct));
        });
    }

    private static string? CalledName(ExpressionSyntax expression) => expression switch
    {
        MemberAccessExpressionSyntax member => member.Name.Identifier.ValueText,
        SimpleNameSyntax name => name.Identifier.ValueText,
        _ => null,
    };
}
