using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using SafeRefs.Analyzers.Internal;

namespace SafeRefs.Analyzers;

/// <summary>
/// SR1004: a static field of a mutable collection type that the compilation only ever adds to (an unbounded cache).
/// </summary>
/// <remarks>
/// Each field reference is classified once, in O(1), as it is analysed (add, remove, read, or escape); the
/// compilation-end action only walks the per-field flags.
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class AddOnlyStaticCollectionAnalyzer : DiagnosticAnalyzer
{
    private const int Added = 1;
    private const int Shrunk = 2;   // removed from, cleared or reassigned
    private const int Escaped = 4;  // handed to code we do not follow

    private static readonly ImmutableArray<string> CollectionTypes = ImmutableArray.Create(
        "System.Collections.Generic.Dictionary`2",
        "System.Collections.Generic.List`1",
        "System.Collections.Generic.HashSet`1",
        "System.Collections.Generic.SortedDictionary`2",
        "System.Collections.Generic.SortedList`2",
        "System.Collections.Generic.SortedSet`1",
        "System.Collections.Generic.LinkedList`1",
        "System.Collections.Generic.Queue`1",
        "System.Collections.Generic.Stack`1",
        "System.Collections.Generic.IDictionary`2",
        "System.Collections.Generic.ICollection`1",
        "System.Collections.Generic.IList`1",
        "System.Collections.Generic.ISet`1",
        "System.Collections.Concurrent.ConcurrentDictionary`2",
        "System.Collections.Concurrent.ConcurrentBag`1",
        "System.Collections.Concurrent.ConcurrentQueue`1",
        "System.Collections.Concurrent.ConcurrentStack`1",
        "System.Collections.Hashtable",
        "System.Collections.ArrayList");

    private static readonly ImmutableHashSet<string> AddMethods = ImmutableHashSet.Create(
        "Add", "TryAdd", "GetOrAdd", "AddOrUpdate", "AddRange", "Insert", "InsertRange", "Enqueue", "Push", "PushRange",
        "AddFirst", "AddLast", "AddBefore", "AddAfter", "UnionWith");

    private static readonly ImmutableHashSet<string> ShrinkMethods = ImmutableHashSet.Create(
        "Remove", "TryRemove", "RemoveAt", "RemoveAll", "RemoveRange", "RemoveWhere", "RemoveFirst", "RemoveLast", "Clear",
        "TryTake", "TryDequeue", "Dequeue", "TryPop", "Pop", "TryPopRange", "ExceptWith", "IntersectWith", "SymmetricExceptWith");

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.SR1004);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var types = CollectionTypes
                .Select(start.Compilation.GetTypeByMetadataName)
                .Where(t => t is not null)
                .Cast<INamedTypeSymbol>()
                .ToImmutableHashSet<INamedTypeSymbol>(SymbolEqualityComparer.Default);
            var flags = new ConcurrentDictionary<IFieldSymbol, int>(SymbolEqualityComparer.Default);

            start.RegisterOperationAction(
                c =>
                {
                    var reference = (IFieldReferenceOperation)c.Operation;
                    var field = reference.Field.OriginalDefinition;
                    if (!field.IsStatic || field.IsConst
                        || field.Type.OriginalDefinition is not INamedTypeSymbol fieldType || !types.Contains(fieldType)
                        || field.DeclaringSyntaxReferences.IsEmpty)
                    {
                        return;
                    }

                    var usage = Classify(reference, c.ContainingSymbol);
                    if (usage != 0)
                    {
                        flags.AddOrUpdate(field, usage, (_, old) => old | usage);
                    }
                },
                OperationKind.FieldReference);

            start.RegisterCompilationEndAction(end =>
            {
                foreach (var pair in flags)
                {
                    if (pair.Value == Added)
                    {
                        var syntax = pair.Key.DeclaringSyntaxReferences[0];
                        end.ReportDiagnostic(Diagnostic.Create(
                            Descriptors.SR1004, Location.Create(syntax.SyntaxTree, syntax.Span), pair.Key.Name));
                    }
                }
            });
        });
    }

    private static int Classify(IFieldReferenceOperation reference, ISymbol containingSymbol)
    {
        var initializing = containingSymbol is IMethodSymbol { MethodKind: MethodKind.StaticConstructor };
        switch (reference.Parent)
        {
            case IInvocationOperation invocation when invocation.Instance == reference:
                if (ShrinkMethods.Contains(invocation.TargetMethod.Name))
                {
                    return Shrunk;
                }

                return AddMethods.Contains(invocation.TargetMethod.Name) && !initializing ? Added : 0;

            case IPropertyReferenceOperation property when property.Instance == reference:
                var isIndexerWrite = property.Property.IsIndexer
                    && property.Parent is IAssignmentOperation write && write.Target == property;
                return isIndexerWrite && !initializing ? Added : 0;

            case IMemberReferenceOperation member when member.Instance == reference:
                return 0;

            case ISimpleAssignmentOperation simple when simple.Target == reference:
                return initializing ? 0 : Shrunk;

            case ICoalesceAssignmentOperation coalesce when coalesce.Target == reference:
                return 0;

            case ILockOperation:
                return 0;

            case IConversionOperation { Parent: IForEachLoopOperation }:
            case IForEachLoopOperation:
                return 0;

            default:
                return Escaped;
        }
    }
}
