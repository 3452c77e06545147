using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using SafeRefs.Analyzers.Internal;

namespace SafeRefs.Analyzers;

/// <summary>
/// SR1001 (long-lived source never unsubscribed), SR1008 (handler added to a pooled object never removed) and
/// SR1009 (<c>-=</c> with a new lambda).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class EventSubscriptionAnalyzer : DiagnosticAnalyzer
{
    private const string ObjectPoolMetadataName = "Microsoft.Extensions.ObjectPool.ObjectPool`1";

    // SR1001's last message argument: what the source keeps alive.
    private const string KeepsInstancesAlive = "the source keeps every instance alive";
    private const string KeepsCapturesAlive = "every call adds a handler that keeps what it captures alive";

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(Descriptors.SR1001, Descriptors.SR1008, Descriptors.SR1009);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();

        context.RegisterOperationAction(AnalyzeRemoval, OperationKind.EventAssignment);
        context.RegisterCompilationStartAction(start =>
        {
            var services = new LongLivedServices(start.Compilation);
            start.RegisterSymbolStartAction(c => StartType(c, services), SymbolKind.NamedType);

            var objectPool = start.Compilation.GetTypeByMetadataName(ObjectPoolMetadataName);
            if (objectPool is not null)
            {
                start.RegisterOperationAction(c => AnalyzePoolGet(c, objectPool), OperationKind.Invocation);
            }
        });
    }

    // SR1009: `source.E -= (s, e) => ...` never removes anything.
    private static void AnalyzeRemoval(OperationAnalysisContext context)
    {
        var assignment = (IEventAssignmentOperation)context.Operation;
        if (!assignment.Adds && assignment.HandlerValue.WalkDownConversionsAndDelegates() is IAnonymousFunctionOperation)
        {
            context.ReportDiagnostic(Diagnostic.Create(
                Descriptors.SR1009, assignment.StatementOrSelf().GetLocation(), EventName(assignment)));
        }
    }

    // SR1001: collect `+=` on long-lived sources whose handler can root something, and every `-=` of the type; report
    // at the end. Instance members: a handler that uses `this` keeps every instance alive. Static members that run more
    // than once (not static constructors, initializers or the entry point): every call adds one more handler. A type
    // with one instance per process (a private-constructor singleton created statically, a DI singleton, a hosted
    // service) keeps quiet where that one instance subscribes once.
    private static void StartType(SymbolStartAnalysisContext context, LongLivedServices services)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        // Interfaces too: their static members, and default implementations (where `this` is the implementing instance).
        if (type.TypeKind is not (TypeKind.Class or TypeKind.Struct or TypeKind.Interface))
        {
            return;
        }

        var state = new TypeState();
        context.RegisterOperationAction(
            operationContext =>
            {
                var assignment = (IEventAssignmentOperation)operationContext.Operation;
                var member = operationContext.ContainingSymbol;
                if (!SymbolEqualityComparer.Default.Equals(member.ContainingType, type)
                    || assignment.EventReference is not IEventReferenceOperation eventReference)
                {
                    return;
                }

                if (!assignment.Adds)
                {
                    state.Remove(eventReference.Event.OriginalDefinition);
                    return;
                }

                if (!IsLongLivedSource(eventReference))
                {
                    return;
                }

                var roots = HandlerRoots(assignment.HandlerValue, inStaticMember: member.IsStatic);
                if (roots == Rooted.Nothing
                    || (member.IsStatic && !RunsRepeatedly(member, operationContext.Compilation, operationContext.CancellationToken)))
                {
                    return;
                }

                // In a singleton, a handler rooting `this` roots the one instance that lives for the process anyway,
                // and its constructor (a hosted service's start methods too) runs once.
                var onceWhenSingleton = !member.IsStatic
                    && (roots == Rooted.Instance
                        || member is IMethodSymbol { MethodKind: MethodKind.Constructor }
                        || (LongLivedServices.IsHostedStartMethod(member) && services.IsHostedService(type)));
                state.Add(assignment, roots == Rooted.Instance && !member.IsStatic ? KeepsInstancesAlive : KeepsCapturesAlive, onceWhenSingleton);
            },
            OperationKind.EventAssignment);

        // A private-constructor singleton: every `new` of the type sits in a static initializer or static constructor
        // (`static readonly T Instance = new()`, `s_instance ??= new T()`, `new Lazy<T>(() => new T())`).
        if (HasOnlyPrivateConstructors(type))
        {
            context.RegisterOperationAction(
                creationContext =>
                {
                    var creation = (IObjectCreationOperation)creationContext.Operation;
                    if (SymbolEqualityComparer.Default.Equals(creation.Type?.OriginalDefinition, type))
                    {
                        state.Created(IsStaticInitialization(creation, creationContext.ContainingSymbol));
                    }
                },
                OperationKind.ObjectCreation);
        }

        context.RegisterSymbolEndAction(end =>
        {
            var unmatched = state.Unmatched();
            if (unmatched.Count == 0)
            {
                return;
            }

            // A DI singleton is found by the simple name it is registered under: a guess, which strict mode turns off.
            var singleton = (state.IsSingleton || services.IsHostedService(type) || services.IsRegisteredSingleton(type))
                && !RuleMode.IsStrict(end.Options, unmatched[0].Assignment.Syntax.SyntaxTree, DiagnosticIds.LongLivedSubscription);
            foreach (var (assignment, consequence, onceWhenSingleton) in unmatched)
            {
                if (singleton && onceWhenSingleton)
                {
                    continue;
                }

                end.ReportDiagnostic(Diagnostic.Create(
                    Descriptors.SR1001, assignment.StatementOrSelf().GetLocation(), EventName(assignment), type.Name, consequence));
            }
        });
    }

    private static bool HasOnlyPrivateConstructors(INamedTypeSymbol type) =>
        type.TypeKind == TypeKind.Class
        && !type.IsStatic
        && type.InstanceConstructors.Length > 0
        && type.InstanceConstructors.All(c => c.DeclaredAccessibility == Accessibility.Private && !c.IsImplicitlyDeclared);

    private static bool IsStaticInitialization(IOperation creation, ISymbol member)
    {
        if (member is IFieldSymbol { IsStatic: true } or IPropertySymbol { IsStatic: true } or IMethodSymbol { MethodKind: MethodKind.StaticConstructor })
        {
            return true;
        }

        return creation.ParentSkippingConversions() is ICoalesceAssignmentOperation { Target: IMemberReferenceOperation { Member.IsStatic: true } };
    }

    // A static event, or an event of an object reached through static fields/properties (Settings.Default.Changed).
    private static bool IsLongLivedSource(IEventReferenceOperation eventReference)
    {
        if (eventReference.Event.IsStatic)
        {
            return true;
        }

        var instance = eventReference.Instance?.WalkDownConversions();
        while (instance is IMemberReferenceOperation member)
        {
            if (member.Member.IsStatic)
            {
                return member is IFieldReferenceOperation or IPropertyReferenceOperation;
            }

            instance = member.Instance?.WalkDownConversions();
        }

        return false;
    }

    // What a handler keeps alive. Static methods, static lambdas and lambdas or local functions that capture nothing
    // (themselves or through the local functions they use) root nothing. A delegate value of unknown origin (a
    // parameter, field or local) is assumed to use `this` in an instance member, and left alone in a static one, where
    // it is typically an add accessor or a forwarding API.
    private static Rooted HandlerRoots(IOperation handler, bool inStaticMember)
    {
        switch (handler.WalkDownConversionsAndDelegates())
        {
            case IMethodReferenceOperation { Method.MethodKind: MethodKind.LocalFunction } local:
                return RootsOfLocalFunction(local, local.Method);
            case IMethodReferenceOperation method:
                return method.Method.IsStatic ? Rooted.Nothing
                    : method.Instance?.WalkDownConversions() is null or IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }
                        ? Rooted.Instance
                        : Rooted.Captures;
            case IAnonymousFunctionOperation function:
                return RootsOfFunction(function, function.Symbol, function.Body);
            default:
                return inStaticMember ? Rooted.Nothing : Rooted.Instance;
        }
    }

    // A function roots what it captures, and what the non-static local functions it calls or references capture.
    private static Rooted RootsOfFunction(IOperation anchor, IMethodSymbol function, IOperation? body)
    {
        var captures = LambdaCaptures.WithLocalFunctions(anchor, function, body);
        return captures.CapturesThis ? Rooted.Instance : captures.CapturesAnything ? Rooted.Captures : Rooted.Nothing;
    }

    private static Rooted RootsOfLocalFunction(IOperation anchor, IMethodSymbol localFunction)
    {
        if (localFunction.IsStatic)
        {
            return Rooted.Nothing;
        }

        // Declaration not found: assume the worst.
        return LambdaCaptures.FindDeclaration(anchor, localFunction) is { } declaration
            ? RootsOfFunction(anchor, declaration.Symbol, declaration.Body)
            : Rooted.Captures;
    }

    // Static constructors, static field/property initializers (their containing symbol is the field or property),
    // module initializers and the entry point (any static Main, top-level statements) run once.
    private static bool RunsRepeatedly(ISymbol member, Compilation compilation, CancellationToken cancellationToken) =>
        member is IMethodSymbol { MethodKind: not MethodKind.StaticConstructor } method
        && method is not { Name: "Main", MethodKind: MethodKind.Ordinary }
        && !method.GetAttributes().Any(a => a.AttributeClass is { Name: "ModuleInitializerAttribute", ContainingNamespace.Name: "CompilerServices" })
        && !SymbolEqualityComparer.Default.Equals(method, compilation.GetEntryPoint(cancellationToken));

    // SR1008: from each ObjectPool<T>.Get() call, follow the local it is stored in through its member body. Only
    // members that rent from a pool pay for the walk.
    private static void AnalyzePoolGet(OperationAnalysisContext context, INamedTypeSymbol objectPool)
    {
        var invocation = (IInvocationOperation)context.Operation;
        if (!IsPoolGet(invocation, objectPool))
        {
            return;
        }

        var parent = invocation.ParentSkippingConversions();
        if (parent is IEventReferenceOperation { Parent: IEventAssignmentOperation { Adds: true } direct })
        {
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.SR1008, direct.StatementOrSelf().GetLocation(), EventName(direct)));
            return;
        }

        var local = parent switch
        {
            IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator } => declarator.Symbol,
            ISimpleAssignmentOperation { Target: ILocalReferenceOperation target } => target.Local,
            _ => null,
        };
        if (local is null)
        {
            return;
        }

        var added = new List<IEventAssignmentOperation>();
        var removed = new HashSet<IEventSymbol>(SymbolEqualityComparer.Default);
        foreach (var operation in invocation.Root().Descendants())
        {
            if (operation is IInvocationOperation other && other != invocation && other.Syntax.SpanStart < invocation.Syntax.SpanStart
                && IsPoolGet(other, objectPool) && StoredLocal(other) is { } earlier && SymbolEqualityComparer.Default.Equals(earlier, local))
            {
                return; // the first Get() stored in this local reports for all of them
            }

            if (operation is IEventAssignmentOperation { EventReference: IEventReferenceOperation eventReference } assignment
                && eventReference.Instance?.WalkDownConversions() is ILocalReferenceOperation reference
                && SymbolEqualityComparer.Default.Equals(reference.Local, local))
            {
                if (assignment.Adds)
                {
                    added.Add(assignment);
                }
                else
                {
                    removed.Add(eventReference.Event.OriginalDefinition);
                }
            }
        }

        foreach (var assignment in added)
        {
            if (!removed.Contains(((IEventReferenceOperation)assignment.EventReference).Event.OriginalDefinition))
            {
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.SR1008, assignment.StatementOrSelf().GetLocation(), EventName(assignment)));
            }
        }
    }

    private static ILocalSymbol? StoredLocal(IOperation get) => get.ParentSkippingConversions() switch
    {
        IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator } => declarator.Symbol,
        ISimpleAssignmentOperation { Target: ILocalReferenceOperation target } => target.Local,
        _ => null,
    };

    private static bool IsPoolGet(IOperation value, INamedTypeSymbol objectPool) =>
        value.WalkDownConversions() is IInvocationOperation { TargetMethod.Name: "Get", Instance: { } pool }
        && pool.Type.InheritsFromOrEquals(objectPool);

    private static string EventName(IEventAssignmentOperation assignment) =>
        assignment.EventReference is IEventReferenceOperation eventReference ? eventReference.Event.Name : "event";

    /// <summary>What a flagged handler keeps alive, in increasing order of severity.</summary>
    private enum Rooted
    {
        /// <summary>Nothing: a static method, or a function that captures nothing.</summary>
        Nothing,

        /// <summary>What the handler captures, or the object its method is bound to.</summary>
        Captures,

        /// <summary>The subscribing instance (<c>this</c>).</summary>
        Instance,
    }

    /// <summary>Per-type SR1001 state; allocates only for types that subscribe or unsubscribe.</summary>
    private sealed class TypeState
    {
        private readonly object _gate = new();
        private List<(IEventAssignmentOperation Assignment, string Consequence, bool OnceWhenSingleton)>? _added;
        private HashSet<IEventSymbol>? _removed;
        private bool _createdStatically;
        private bool _createdElsewhere;

        /// <summary>Gets a value indicating whether the type is only ever created by static initialization.</summary>
        public bool IsSingleton
        {
            get
            {
                lock (_gate)
                {
                    return _createdStatically && !_createdElsewhere;
                }
            }
        }

        public void Add(IEventAssignmentOperation assignment, string consequence, bool onceWhenSingleton)
        {
            lock (_gate)
            {
                (_added ??= new List<(IEventAssignmentOperation, string, bool)>()).Add((assignment, consequence, onceWhenSingleton));
            }
        }

        public void Created(bool statically)
        {
            lock (_gate)
            {
                _createdStatically |= statically;
                _createdElsewhere |= !statically;
            }
        }

        public void Remove(IEventSymbol symbol)
        {
            lock (_gate)
            {
                (_removed ??= new HashSet<IEventSymbol>(SymbolEqualityComparer.Default)).Add(symbol);
            }
        }

        public List<(IEventAssignmentOperation Assignment, string Consequence, bool OnceWhenSingleton)> Unmatched()
        {
            lock (_gate)
            {
                if (_added is null)
                {
                    return new List<(IEventAssignmentOperation, string, bool)>();
                }

                var removed = _removed;
                return _added
                    .Where(a => removed is null || !removed.Contains(((IEventReferenceOperation)a.Assignment.EventReference).Event.OriginalDefinition))
                    .ToList();
            }
        }
    }
}
