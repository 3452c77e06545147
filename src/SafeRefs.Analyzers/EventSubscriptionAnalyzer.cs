using System.Collections.Concurrent;
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
                start.RegisterOperationBlockStartAction(block => StartPooledBlock(block, objectPool));
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

        var added = new ConcurrentQueue<IEventAssignmentOperation>();
        var removed = new ConcurrentDictionary<IEventSymbol, bool>(SymbolEqualityComparer.Default);
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
                    removed.TryAdd(eventReference.Event.OriginalDefinition, true);
                }
                else if (!operationContext.ContainingSymbol.IsStatic
                    && IsLongLivedSource(eventReference)
                    && HandlerMayRootInstance(assignment.HandlerValue))
                {
                    added.Enqueue(assignment);
                }
            },
            OperationKind.EventAssignment);
        context.RegisterSymbolEndAction(end =>
        {
            foreach (var assignment in added)
            {
                var eventReference = (IEventReferenceOperation)assignment.EventReference;
                if (!removed.ContainsKey(eventReference.Event.OriginalDefinition))
                {
                    end.ReportDiagnostic(Diagnostic.Create(
                        Descriptors.SR1001, assignment.StatementOrSelf().GetLocation(), EventName(assignment), type.Name));
                }
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

    // SR1008: track locals rented from an ObjectPool<T> within one member body.
    private static void StartPooledBlock(OperationBlockStartAnalysisContext context, INamedTypeSymbol objectPool)
    {
        var rented = new ConcurrentDictionary<ILocalSymbol, bool>(SymbolEqualityComparer.Default);
        var added = new ConcurrentQueue<IEventAssignmentOperation>();
        var removed = new ConcurrentDictionary<(ILocalSymbol Local, IEventSymbol Event), bool>(LocalEventComparer.Instance);

        context.RegisterOperationAction(
            operationContext =>
            {
                var declarator = (IVariableDeclaratorOperation)operationContext.Operation;
                if (declarator.Initializer?.Value is { } value && IsPoolGet(value, objectPool))
                {
                    rented.TryAdd(declarator.Symbol, true);
                }
            },
            OperationKind.VariableDeclarator);
        context.RegisterOperationAction(
            operationContext =>
            {
                var assignment = (ISimpleAssignmentOperation)operationContext.Operation;
                if (assignment.Target is ILocalReferenceOperation local && IsPoolGet(assignment.Value, objectPool))
                {
                    rented.TryAdd(local.Local, true);
                }
            },
            OperationKind.SimpleAssignment);
        context.RegisterOperationAction(
            operationContext =>
            {
                var assignment = (IEventAssignmentOperation)operationContext.Operation;
                if (assignment.EventReference is not IEventReferenceOperation eventReference)
                {
                    return;
                }

                var instance = eventReference.Instance?.WalkDownConversions();
                if (instance is ILocalReferenceOperation local)
                {
                    if (assignment.Adds)
                    {
                        added.Enqueue(assignment);
                    }
                    else
                    {
                        removed.TryAdd((local.Local, eventReference.Event.OriginalDefinition), true);
                    }
                }
                else if (assignment.Adds && instance is not null && IsPoolGet(instance, objectPool))
                {
                    operationContext.ReportDiagnostic(Diagnostic.Create(
                        Descriptors.SR1008, assignment.StatementOrSelf().GetLocation(), EventName(assignment)));
                }
            },
            OperationKind.EventAssignment);
        context.RegisterOperationBlockEndAction(end =>
        {
            foreach (var assignment in added)
            {
                var eventReference = (IEventReferenceOperation)assignment.EventReference;
                var local = ((ILocalReferenceOperation)eventReference.Instance!.WalkDownConversions()).Local;
                if (rented.ContainsKey(local) && !removed.ContainsKey((local, eventReference.Event.OriginalDefinition)))
                {
                    end.ReportDiagnostic(Diagnostic.Create(
                        Descriptors.SR1008, assignment.StatementOrSelf().GetLocation(), EventName(assignment)));
                }
            }
        });
    }

    private static bool IsPoolGet(IOperation value, INamedTypeSymbol objectPool) =>
        value.WalkDownConversions() is IInvocationOperation { TargetMethod.Name: "Get", Instance: { } pool }
        && pool.Type.InheritsFromOrEquals(objectPool);

    private static string EventName(IEventAssignmentOperation assignment) =>
        assignment.EventReference is IEventReferenceOperation eventReference ? eventReference.Event.Name : "event";

    private sealed class LocalEventComparer : IEqualityComparer<(ILocalSymbol Local, IEventSymbol Event)>
    {
        public static readonly LocalEventComparer Instance = new();

        public bool Equals((ILocalSymbol Local, IEventSymbol Event) x, (ILocalSymbol Local, IEventSymbol Event) y) =>
            SymbolEqualityComparer.Default.Equals(x.Local, y.Local) && SymbolEqualityComparer.Default.Equals(x.Event, y.Event);

        public int GetHashCode((ILocalSymbol Local, IEventSymbol Event) obj) =>
            (SymbolEqualityComparer.Default.GetHashCode(obj.Local) * 31) + SymbolEqualityComparer.Default.GetHashCode(obj.Event);
    }
}
