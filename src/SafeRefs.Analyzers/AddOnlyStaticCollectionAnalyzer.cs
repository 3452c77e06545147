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
/// compilation-end action only walks the per-field flags. By default an add the program bounds is not counted: a key
/// that is program metadata (a <c>Type</c>, <c>MemberInfo</c>, <c>Assembly</c>, an enum, a <c>bool</c>, a constant, a
/// <c>[CallerMemberName]</c> string), a throwing registration (<c>Dictionary.Add</c>, <c>if (!set.Add(x)) throw</c>),
/// or an add made only from start-up code (static constructor, static initializer, or a private static helper called
/// only from there). <c>saferefs.SR1004.mode = strict</c> counts those adds too.
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class AddOnlyStaticCollectionAnalyzer : DiagnosticAnalyzer
{
    private const int Added = 1;
    private const int Shrunk = 2;       // removed from, cleared or reassigned
    private const int Escaped = 4;      // handed to code we do not follow
    private const int BoundedAdd = 8;   // an add the program bounds (metadata or constant key, throwing registration)
    private const int HelperAdd = 16;   // an add in a private static helper, bounded if the helper only runs at start-up

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

    // Collections where adding an existing key does not grow: a bounded key set bounds the collection.
    private static readonly ImmutableHashSet<string> KeyedTypes = ImmutableHashSet.Create(
        "Dictionary", "HashSet", "SortedDictionary", "SortedList", "SortedSet", "IDictionary", "ISet", "ConcurrentDictionary", "Hashtable");

    // Dictionary adds that throw on a duplicate key: the shape of a registration API, not of a cache.
    private static readonly ImmutableHashSet<string> ThrowingDictionaryTypes = ImmutableHashSet.Create(
        "Dictionary", "SortedDictionary", "SortedList", "IDictionary", "Hashtable");

    private static readonly ImmutableHashSet<string> AddMethods = ImmutableHashSet.Create(
        "Add", "TryAdd", "GetOrAdd", "AddOrUpdate", "AddRange", "Insert", "InsertRange", "Enqueue", "Push", "PushRange",
        "AddFirst", "AddLast", "AddBefore", "AddAfter", "UnionWith");

    private static readonly ImmutableHashSet<string> ShrinkMethods = ImmutableHashSet.Create(
        "Remove", "TryRemove", "RemoveAt", "RemoveAll", "RemoveRange", "RemoveWhere", "RemoveFirst", "RemoveLast", "Clear",
        "TryTake", "TryDequeue", "Dequeue", "TryPop", "Pop", "TryPopRange", "ExceptWith", "IntersectWith", "SymmetricExceptWith");

    private static readonly ImmutableArray<string> MetadataTypeNames = ImmutableArray.Create(
        "System.Type", "System.Reflection.MemberInfo", "System.Reflection.Assembly", "System.Reflection.Module",
        "System.Reflection.ParameterInfo", "System.RuntimeTypeHandle", "System.RuntimeMethodHandle", "System.RuntimeFieldHandle");

    private static readonly ImmutableHashSet<string> CallerInfoAttributes = ImmutableHashSet.Create(
        "CallerMemberNameAttribute", "CallerFilePathAttribute", "CallerLineNumberAttribute", "CallerArgumentExpressionAttribute");

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
            var metadata = new MetadataTypes(start.Compilation);
            var flags = new ConcurrentDictionary<IFieldSymbol, int>(SymbolEqualityComparer.Default);
            var helpers = new ConcurrentDictionary<IFieldSymbol, ConcurrentBag<IMethodSymbol>>(SymbolEqualityComparer.Default);
            var calls = new HelperCalls();

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

                    var usage = Classify(reference, c.ContainingSymbol, fieldType, field.Type, metadata);
                    if (usage == HelperAdd)
                    {
                        helpers.GetOrAdd(field, static _ => new ConcurrentBag<IMethodSymbol>()).Add((IMethodSymbol)c.ContainingSymbol);
                    }

                    if (usage != 0)
                    {
                        flags.AddOrUpdate(field, usage, (_, old) => old | usage);
                    }
                },
                OperationKind.FieldReference);

            // Who calls each private static method, to tell start-up helpers from per-call code.
            start.RegisterOperationAction(
                c =>
                {
                    var (method, escapes) = c.Operation switch
                    {
                        IInvocationOperation invocation => (invocation.TargetMethod, false),
                        IMethodReferenceOperation reference => (reference.Method, true),
                        _ => (null, false),
                    };
                    if (method is not null && IsPrivateStaticHelper(method))
                    {
                        calls.Record(method.OriginalDefinition, escapes ? null : c.ContainingSymbol);
                    }
                },
                OperationKind.Invocation,
                OperationKind.MethodReference);

            start.RegisterCompilationEndAction(end =>
            {
                foreach (var pair in flags)
                {
                    var usage = pair.Value;
                    if ((usage & (Shrunk | Escaped)) != 0 || (usage & (Added | BoundedAdd | HelperAdd)) == 0)
                    {
                        continue;
                    }

                    var syntax = pair.Key.DeclaringSyntaxReferences[0];
                    var strict = RuleMode.IsStrict(end.Options, syntax.SyntaxTree, DiagnosticIds.AddOnlyStaticCollection);
                    var grows = strict
                        || (usage & Added) != 0
                        || ((usage & HelperAdd) != 0 && helpers.TryGetValue(pair.Key, out var methods) && methods.Any(m => !calls.RunsOnlyAtStartUp(m)));
                    if (grows)
                    {
                        end.ReportDiagnostic(Diagnostic.Create(
                            Descriptors.SR1004, Location.Create(syntax.SyntaxTree, syntax.Span), pair.Key.Name));
                    }
                }
            });
        });
    }

    private static int Classify(IFieldReferenceOperation reference, ISymbol containingSymbol, INamedTypeSymbol fieldType, ITypeSymbol constructed, MetadataTypes metadata)
    {
        var initializing = IsStartUp(containingSymbol);
        switch (reference.Parent)
        {
            case IInvocationOperation invocation when invocation.Instance == reference:
                if (ShrinkMethods.Contains(invocation.TargetMethod.Name))
                {
                    return Shrunk;
                }

                if (!AddMethods.Contains(invocation.TargetMethod.Name) || initializing)
                {
                    return 0;
                }

                return AddKind(invocation, invocation.Arguments.Length > 0 ? invocation.Arguments[0].Value : null, containingSymbol, fieldType, constructed, metadata);

            case IPropertyReferenceOperation property when property.Instance == reference:
                var isIndexerWrite = property.Property.IsIndexer
                    && property.Parent is IAssignmentOperation write && write.Target == property;
                return !isIndexerWrite || initializing
                    ? 0
                    : AddKind(null, property.Arguments.Length > 0 ? property.Arguments[0].Value : null, containingSymbol, fieldType, constructed, metadata);

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

    // An add outside start-up code: bounded when the key set is fixed by the program or the add is a registration that
    // refuses duplicates; a helper add when it sits in a private static method (judged by its callers at the end).
    private static int AddKind(IInvocationOperation? invocation, IOperation? key, ISymbol containingSymbol, INamedTypeSymbol fieldType, ITypeSymbol constructed, MetadataTypes metadata)
    {
        var keyed = KeyedTypes.Contains(fieldType.Name);
        if (keyed && constructed is INamedTypeSymbol { TypeArguments.Length: > 0 } generic && metadata.IsMetadata(generic.TypeArguments[0]))
        {
            return BoundedAdd;
        }

        var isRangeAdd = invocation?.TargetMethod.Name is "AddRange" or "UnionWith";
        if (keyed && !isRangeAdd && key is not null && IsBoundedKey(key, metadata))
        {
            return BoundedAdd;
        }

        if (invocation is not null && keyed && !isRangeAdd && IsRegistration(invocation, fieldType))
        {
            return BoundedAdd;
        }

        return containingSymbol is IMethodSymbol method && IsPrivateStaticHelper(method) ? HelperAdd : Added;
    }

    // A key the program, not its input, bounds: a constant or nameof, typeof(...), a [CallerMemberName]-style parameter,
    // a value of a metadata type, a member of one (type.FullName), or a tuple of such keys.
    private static bool IsBoundedKey(IOperation key, MetadataTypes metadata)
    {
        key = key.WalkDownConversions();
        if (key.ConstantValue.HasValue || key is ITypeOfOperation || (key.Type is { } type && metadata.IsMetadata(type)))
        {
            return true;
        }

        switch (key)
        {
            case IParameterReferenceOperation parameter:
                return parameter.Parameter.GetAttributes().Any(a => a.AttributeClass is { } attribute && CallerInfoAttributes.Contains(attribute.Name));
            case IMemberReferenceOperation { Instance: { } instance } when instance.Type is { } instanceType:
                return metadata.IsMetadata(instanceType) || instance.WalkDownConversions() is ITypeOfOperation;
            case IInvocationOperation { TargetMethod.Name: "ToString", Instance: { } instance }:
                return IsBoundedKey(instance, metadata);
            case ITupleOperation tuple:
                return tuple.Elements.All(e => IsBoundedKey(e, metadata));
            default:
                return false;
        }
    }

    // `Registry.Add(name, value)` on a dictionary (throws on a duplicate name) or `if (!Set.Add(name)) throw ...`.
    private static bool IsRegistration(IInvocationOperation invocation, INamedTypeSymbol fieldType)
    {
        var name = invocation.TargetMethod.Name;
        if (name == "Add" && ThrowingDictionaryTypes.Contains(fieldType.Name) && invocation.Arguments.Length == 2)
        {
            return true;
        }

        if (name is not ("Add" or "TryAdd"))
        {
            return false;
        }

        var parent = invocation.ParentSkippingConversions();
        var negated = false;
        if (parent is IUnaryOperation { OperatorKind: UnaryOperatorKind.Not } not)
        {
            negated = true;
            parent = not.ParentSkippingConversions();
        }

        return parent is IConditionalOperation conditional
            && (negated ? conditional.WhenTrue : conditional.WhenFalse) is { } failed
            && failed.DescendantsAndSelf().Any(o => o is IThrowOperation);
    }

    // Code that runs once per type: static constructors, static field and property initializers, module initializers.
    private static bool IsStartUp(ISymbol symbol) => symbol switch
    {
        IMethodSymbol { MethodKind: MethodKind.StaticConstructor } => true,
        IMethodSymbol method => method.GetAttributes().Any(a => a.AttributeClass is { Name: "ModuleInitializerAttribute" }),
        IFieldSymbol { IsStatic: true } or IPropertySymbol { IsStatic: true } => true,
        _ => false,
    };

    private static bool IsPrivateStaticHelper(IMethodSymbol method) =>
        method is { IsStatic: true, MethodKind: MethodKind.Ordinary, DeclaredAccessibility: Accessibility.Private }
        && !method.DeclaringSyntaxReferences.IsEmpty;

    /// <summary>The callers of private static methods, gathered during the compilation.</summary>
    private sealed class HelperCalls
    {
        private readonly ConcurrentDictionary<IMethodSymbol, ConcurrentBag<ISymbol?>> _callers = new(SymbolEqualityComparer.Default);

        // A null caller: the method escapes as a delegate, so anyone may call it.
        public void Record(IMethodSymbol method, ISymbol? caller) =>
            _callers.GetOrAdd(method, static _ => new ConcurrentBag<ISymbol?>()).Add(caller);

        // Called (transitively, through other private static helpers) only from start-up code. A helper nobody calls
        // never adds anything.
        public bool RunsOnlyAtStartUp(IMethodSymbol method) => RunsOnlyAtStartUp(method.OriginalDefinition, new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default));

        private bool RunsOnlyAtStartUp(IMethodSymbol method, HashSet<IMethodSymbol> visiting)
        {
            if (!visiting.Add(method))
            {
                return true; // recursion adds no new caller
            }

            if (!_callers.TryGetValue(method, out var callers))
            {
                return true;
            }

            foreach (var caller in callers)
            {
                var startUp = caller is not null
                    && (IsStartUp(caller)
                        || (caller is IMethodSymbol helper && IsPrivateStaticHelper(helper) && RunsOnlyAtStartUp(helper.OriginalDefinition, visiting)));
                if (!startUp)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>Types whose values the program, not its input, bounds: reflection objects, enums, <c>bool</c>.</summary>
    private sealed class MetadataTypes
    {
        private readonly ImmutableArray<INamedTypeSymbol> _bases;

        public MetadataTypes(Compilation compilation)
        {
            _bases = MetadataTypeNames.Select(compilation.GetTypeByMetadataName).Where(t => t is not null).Cast<INamedTypeSymbol>().ToImmutableArray();
        }

        public bool IsMetadata(ITypeSymbol type)
        {
            if (type.TypeKind == TypeKind.Enum || type.SpecialType == SpecialType.System_Boolean)
            {
                return true;
            }

            if (type is INamedTypeSymbol named)
            {
                if (named.IsTupleType)
                {
                    return named.TupleElements.All(e => IsMetadata(e.Type));
                }

                if (named.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T)
                {
                    return IsMetadata(named.TypeArguments[0]);
                }
            }

            foreach (var baseType in _bases)
            {
                if (type.InheritsFromOrEquals(baseType))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
