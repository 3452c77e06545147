using Microsoft.CodeAnalysis;

namespace SafeRefs.Analyzers.WeakEvents;

/// <summary>
/// Implements each <c>[WeakEvent]</c> <c>partial event</c>: accessors backed by a SafeRefs weak event and a raise
/// method. Events that <see cref="WeakEventAttributeAnalyzer"/> reports are skipped (the analyzer says why).
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class WeakEventGenerator : IIncrementalGenerator
{
    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // The transform produces the file's text: a value-equal result, so unchanged events are not re-emitted.
        var files = context.SyntaxProvider.ForAttributeWithMetadataName(
            WeakEventDeclaration.AttributeName,
            static (_, _) => true,
            static (attributeContext, cancellationToken) =>
            {
                if (attributeContext.TargetSymbol is not IEventSymbol symbol
                    || WeakEventDeclaration.Check(symbol, attributeContext.SemanticModel.Compilation, cancellationToken, out _) is not { } declaration)
                {
                    return default;
                }

                var source = WeakEventEmitter.Emit(declaration, attributeContext.Attributes[0]);
                return (HintName: WeakEventEmitter.HintName(declaration.Symbol), Source: source);
            })
            .Where(static file => file.Source is not null);

        context.RegisterSourceOutput(files, static (output, file) => output.AddSource(file.HintName, file.Source!));
    }
}
