using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace SafeRefs.Analyzers;

/// <summary>
/// SR1011: a weak event (<c>WeakEvent&lt;T&gt;</c>, <c>AsyncWeakEvent&lt;T&gt;</c>, <c>WeakDelegateEvent&lt;T&gt;</c>)
/// created inside a class with <c>new WeakEventOptions { Budget = ... }</c> that does not set <c>DeclaringType</c>:
/// the budget's warnings, refusals and metric tag then name the weak event's own type, the same for every event.
/// Options built elsewhere (a variable, a method) are not followed, and an event without a budget names no type.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class WeakEventDeclaringTypeAnalyzer : DiagnosticAnalyzer
{
    private static readonly string[] WeakEventMetadataNames =
    [
        "SafeRefs.Events.WeakEvent`1",
        "SafeRefs.Events.AsyncWeakEvent`1",
        "SafeRefs.Events.WeakDelegateEvent`1",
    ];

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.SR1011);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var options = start.Compilation.GetTypeByMetadataName("SafeRefs.Events.WeakEventOptions");
            var events = WeakEventMetadataNames
                .Select(start.Compilation.GetTypeByMetadataName)
                .Where(static t => t is not null)
                .Select(static t => t!)
                .ToImmutableArray();
            if (options is not null && !events.IsEmpty)
            {
                start.RegisterOperationAction(c => Analyze(c, options, events), OperationKind.ObjectCreation);
            }
        });
    }

    private static void Analyze(OperationAnalysisContext context, INamedTypeSymbol options, ImmutableArray<INamedTypeSymbol> events)
    {
        var creation = (IObjectCreationOperation)context.Operation;
        if (creation.Type is not INamedTypeSymbol { IsGenericType: true } created
            || !events.Contains(created.OriginalDefinition, SymbolEqualityComparer.Default)
            || context.ContainingSymbol.ContainingType is not { TypeKind: TypeKind.Class } containing)
        {
            return;
        }

        foreach (var argument in creation.Arguments)
        {
            if (Unwrap(argument.Value) is IObjectCreationOperation { Initializer: { } initializer } optionsCreation
                && SymbolEqualityComparer.Default.Equals(optionsCreation.Type, options)
                && Sets(initializer, "Budget")
                && !Sets(initializer, "DeclaringType"))
            {
                context.ReportDiagnostic(Diagnostic.Create(
                    Descriptors.SR1011, optionsCreation.Syntax.GetLocation(), created.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat), containing.Name));
            }
        }
    }

    private static IOperation Unwrap(IOperation operation) =>
        operation is IConversionOperation { IsImplicit: true } conversion ? Unwrap(conversion.Operand) : operation;

    private static bool Sets(IObjectOrCollectionInitializerOperation initializer, string property) =>
        initializer.Initializers.Any(i => i is ISimpleAssignmentOperation { Target: IPropertyReferenceOperation target } && target.Property.Name == property);
}
