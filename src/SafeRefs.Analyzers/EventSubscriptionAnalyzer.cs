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

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(Descriptors.SR1001, Descriptors.SR1008, Descriptors.SR1009);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();

        context.RegisterOperationAction(AnalyzeRemoval, OperationKind.EventAssignment);
        context.RegisterSymbolStartAction(StartType, SymbolKind.NamedType);
        context.RegisterCompilationStartAction(start =>
        {
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

    // SR1001: collect `+=` on long-lived sources in instance members and every `-=` of the type; report at the end.
    private static void StartType(SymbolStartAnalysisContext context)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        if (type.TypeKind is not (TypeKind.Class or TypeKind.Struct) || type.IsStatic)
        {
            return;
        }

        var state = new TypeState();
        context.RegisterOperationAction(
            operationContext =>
            {
                var assignment = (IEventAssignmentOperation)operationContext.Operation;
                if (!SymbolEqualityComparer.Default.Equals(operationContext.ContainingSymbol.ContainingType, type)
                    || assignment.EventReference is not IEventReferenceOperation eventReference)
                {
                    return;
                }

                if (!assignment.Adds)
                {
                    state.Remove(eventReference.Event.OriginalDefinition);
                }
                else if (!operationContext.ContainingSymbol.IsStatic
                    && IsLongLivedSource(eventReference)
                    && HandlerMayRootInstance(assignment.HandlerValue))
                {
                    state.Add(assignment);
                }
            },
            OperationKind.EventAssignment);
        context.RegisterSymbolEndAction(end =>
        {
            foreach (var assignment in state.Unmatched())
            {
                end.ReportDiagnostic(Diagnostic.Create(
                    Descriptors.SR1001, assignment.StatementOrSelf().GetLocation(), EventName(assignment), type.Name));
            }
        });
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

    // Static methods and lambdas that capture nothing cannot keep the subscribing instance alive.
    private static bool HandlerMayRootInstance(IOperation handler)
    {
        return handler.WalkDownConversionsAndDelegates() switch
        {
            IMethodReferenceOperation method => !method.Method.IsStatic,
            IAnonymousFunctionOperation function => LambdaCaptures.Of(function).CapturesAnything,
            _ => true,
        };
    }

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

    /// <summary>Per-type SR1001 state; allocates only for types that subscribe or unsubscribe.</summary>
    private sealed class TypeState
    {
        private readonly object _gate = new();
        private List<IEventAssignmentOperation>? _added;
        private HashSet<IEventSymbol>? _removed;

        public void Add(IEventAssignmentOperation assignment)
        {
            lock (_gate)
            {
                (_added ??= new List<IEventAssignmentOperation>()).Add(assignment);
            }
        }

        public void Remove(IEventSymbol symbol)
        {
            lock (_gate)
            {
                (_removed ??= new HashSet<IEventSymbol>(SymbolEqualityComparer.Default)).Add(symbol);
            }
        }

        public IEnumerable<IEventAssignmentOperation> Unmatched()
        {
            lock (_gate)
            {
                if (_added is null)
                {
                    return Array.Empty<IEventAssignmentOperation>();
                }

                var removed = _removed;
                return _added
                    .Where(a => removed is null || !removed.Contains(((IEventReferenceOperation)a.EventReference).Event.OriginalDefinition))
                    .ToList();
            }
        }
    }
}
