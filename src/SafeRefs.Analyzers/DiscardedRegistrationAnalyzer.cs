using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using SafeRefs.Analyzers.Internal;

namespace SafeRefs.Analyzers;

/// <summary>
/// SR1005 (discarded <c>CancellationToken.Register</c>/<c>UnsafeRegister</c> result) and SR1006 (discarded
/// <c>ChangeToken.OnChange</c> / <c>IOptionsMonitor&lt;T&gt;.OnChange</c> result).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class DiscardedRegistrationAnalyzer : DiagnosticAnalyzer
{
    private static readonly ImmutableHashSet<string> CompletionMethods = ImmutableHashSet.Create(
        "SetCanceled", "TrySetCanceled", "SetResult", "TrySetResult", "SetException", "TrySetException");

    private static readonly ImmutableHashSet<string> HostedStartMethods = ImmutableHashSet.Create(
        "StartAsync", "StopAsync", "StartingAsync", "StartedAsync", "StoppingAsync", "StoppedAsync");

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(Descriptors.SR1005, Descriptors.SR1006);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var known = new KnownTypes(start.Compilation);
            if (known.IsEmpty)
            {
                return;
            }

            var singletons = new SingletonRegistrations(start.Compilation);
            start.RegisterOperationAction(c => Analyze(c, known, singletons), OperationKind.Invocation);
        });
    }

    private static void Analyze(OperationAnalysisContext context, KnownTypes known, SingletonRegistrations singletons)
    {
        var invocation = (IInvocationOperation)context.Operation;
        var method = invocation.TargetMethod;
        if (method.Name is not ("Register" or "UnsafeRegister" or "OnChange"))
        {
            return;
        }

        var containing = method.ContainingType.OriginalDefinition;
        if (method.Name == "OnChange")
        {
            if (!known.IsChangeRegistration(containing) || !invocation.IsDiscarded(out var changeStatement))
            {
                return;
            }

            // In the constructor of a DI singleton (or a hosted service) the listener lives exactly as long as the
            // container: a guess (the registration is found by name), so strict mode reports it.
            if (context.ContainingSymbol is IMethodSymbol { MethodKind: MethodKind.Constructor } constructor
                && !InLoopOrFunction(invocation)
                && (known.IsHostedService(constructor.ContainingType) || singletons.Contains(constructor.ContainingType))
                && !RuleMode.IsStrict(context.Options, invocation.Syntax.SyntaxTree, DiagnosticIds.DiscardedChangeRegistration))
            {
                return;
            }

            context.ReportDiagnostic(Diagnostic.Create(
                Descriptors.SR1006, changeStatement.Syntax.GetLocation(), containing.Name + "." + method.Name));
            return;
        }

        if (!SymbolEqualityComparer.Default.Equals(containing, known.CancellationToken)
            || !invocation.IsDiscarded(out var statement)
            || invocation.Instance is not { } token
            || IsOwnedToken(token, known))
        {
            return;
        }

        // Guesses that keep the rule quiet unless `saferefs.SR1005.mode = strict`: code that runs once per process, a
        // token-to-Task adapter, a token of this object's own.
        if ((RunsOnce(invocation, context.ContainingSymbol, context.Compilation, known, context.CancellationToken)
                || IsTaskAdapter(invocation, known)
                || IsOwnTokenProperty(token))
            && !RuleMode.IsStrict(context.Options, invocation.Syntax.SyntaxTree, DiagnosticIds.DiscardedCancellationRegistration))
        {
            return;
        }

        context.ReportDiagnostic(Diagnostic.Create(
            Descriptors.SR1005, statement.Syntax.GetLocation(), "CancellationToken." + method.Name));
    }

    // Code that runs once per process or per host: static constructors and initializers, the entry point, a hosted
    // service's constructor and start/stop methods, BackgroundService.ExecuteAsync, a start-up filter or
    // Startup.Configure. Not inside a loop or a lambda there (a middleware lambda runs per request).
    private static bool RunsOnce(IOperation operation, ISymbol member, Compilation compilation, KnownTypes known, CancellationToken cancellationToken)
    {
        if (InLoopOrFunction(operation))
        {
            return false;
        }

        switch (member)
        {
            case IFieldSymbol { IsStatic: true }:
            case IPropertySymbol { IsStatic: true }:
            case IMethodSymbol { MethodKind: MethodKind.StaticConstructor }:
            case IMethodSymbol { IsStatic: true, Name: "Main" }:
                return true;
            case IMethodSymbol method:
                if (SymbolEqualityComparer.Default.Equals(method, compilation.GetEntryPoint(cancellationToken)))
                {
                    return true;
                }

                var type = method.ContainingType;
                if (known.IsHostedService(type) && (method.MethodKind == MethodKind.Constructor || HostedStartMethods.Contains(method.Name)))
                {
                    return true;
                }

                if (method is { Name: "ExecuteAsync", IsOverride: true } && known.IsBackgroundService(type))
                {
                    return true;
                }

                return method.Name == "Configure" && (known.IsStartupFilter(type) || method.Parameters.Any(p => known.IsApplicationBuilder(p.Type)));
            default:
                return false;
        }
    }

    private static bool InLoopOrFunction(IOperation operation)
    {
        for (var current = operation.Parent; current is not null; current = current.Parent)
        {
            if (current is ILoopOperation or IAnonymousFunctionOperation or ILocalFunctionOperation)
            {
                return true;
            }
        }

        return false;
    }

    // `token.Register(() => tcs.TrySetCanceled())` (or the static form with the source as state) where the method
    // returns or awaits `tcs.Task`: the registration holds only the completion source and ends when the token fires;
    // the shape of an adapter, not of a listener. A completion source field of this instance is the type's own business.
    private static bool IsTaskAdapter(IInvocationOperation register, KnownTypes known)
    {
        if (register.Arguments.Length == 0)
        {
            return false;
        }

        IOperation? source = null;
        switch (register.Arguments[0].Value.WalkDownConversionsAndDelegates())
        {
            case IMethodReferenceOperation { Instance: { } instance } reference when CompletionMethods.Contains(reference.Method.Name):
                source = instance;
                break;
            case IAnonymousFunctionOperation function:
                foreach (var operation in function.Body.Descendants())
                {
                    if (operation is IInvocationOperation { Instance: { } instance } completion
                        && CompletionMethods.Contains(completion.TargetMethod.Name)
                        && known.IsCompletionSource(completion.TargetMethod.ContainingType))
                    {
                        source = instance;
                        break;
                    }
                }

                break;
        }

        source = source?.WalkDownConversions();
        if (source is IParameterReferenceOperation { Parameter: var stateParameter } && stateParameter.ContainingSymbol is IMethodSymbol { MethodKind: MethodKind.AnonymousFunction })
        {
            // The static form: the source is the state argument.
            source = register.Arguments.Length > 1 ? register.Arguments[1].Value.WalkDownConversions() : null;
        }

        var symbol = source switch
        {
            ILocalReferenceOperation local => (ISymbol)local.Local,
            IParameterReferenceOperation parameter => parameter.Parameter,
            IFieldReferenceOperation { Instance: IInstanceReferenceOperation } field => field.Field,
            _ => null,
        };
        if (symbol is null || !known.IsCompletionSource(source!.Type))
        {
            return false;
        }

        if (symbol is IFieldSymbol)
        {
            return true;
        }

        foreach (var operation in register.Root().Descendants())
        {
            if (operation is IPropertyReferenceOperation { Property.Name: "Task", Instance: { } taskOwner }
                && taskOwner.WalkDownConversions() switch
                {
                    ILocalReferenceOperation local => SymbolEqualityComparer.Default.Equals(local.Local, symbol),
                    IParameterReferenceOperation parameter => SymbolEqualityComparer.Default.Equals(parameter.Parameter, symbol),
                    _ => false,
                })
            {
                return true;
            }
        }

        return false;
    }

    // `ConnectionClosed.Register(...)`: a token property of this very object (a connection's own Closed token). Its
    // source lives and dies with the object, and so does the registration.
    private static bool IsOwnTokenProperty(IOperation token)
    {
        token = token.WalkDownConversions();
        if (token is ILocalReferenceOperation local && FindInitializer(local.Local, token.Root()) is { } value)
        {
            token = value.WalkDownConversions();
        }

        return token is IPropertyReferenceOperation { Instance: IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }, Property: { IsStatic: false } property }
            && !property.DeclaringSyntaxReferences.IsEmpty;
    }

    // `cts.Token` (or a local copied from it) where `cts` is created in this method and disposed there (using or
    // Dispose()), or `_cts.Token` of this instance's own source; CancellationToken.None and default never hold a
    // registration.
    private static bool IsOwnedToken(IOperation token, KnownTypes known)
    {
        token = token.WalkDownConversions();
        if (!token.IsRealCancellationToken())
        {
            return true;
        }

        var root = token.Root();
        if (token is ILocalReferenceOperation tokenLocal
            && FindInitializer(tokenLocal.Local, root) is { } tokenValue)
        {
            token = tokenValue.WalkDownConversions();
        }

        // `_cts.Token` where `_cts` is a CancellationTokenSource field of this type: the type owns the source (CA2213
        // checks that it disposes it), so the registration cannot outlive the object that made it.
        if (token is IPropertyReferenceOperation { Property.Name: "Token", Instance: IFieldReferenceOperation { Instance: IInstanceReferenceOperation } sourceField }
            && SymbolEqualityComparer.Default.Equals(sourceField.Field.Type.OriginalDefinition, known.CancellationTokenSource))
        {
            return true;
        }

        if (token is not IPropertyReferenceOperation { Property.Name: "Token", Instance: ILocalReferenceOperation sourceLocal }
            || !SymbolEqualityComparer.Default.Equals(sourceLocal.Local.Type?.OriginalDefinition, known.CancellationTokenSource))
        {
            return false;
        }

        var source = sourceLocal.Local;
        var created = false;
        var disposed = false;
        foreach (var operation in root.Descendants())
        {
            switch (operation)
            {
                case IVariableDeclaratorOperation declarator when SymbolEqualityComparer.Default.Equals(declarator.Symbol, source):
                    created = declarator.Initializer?.Value.WalkDownConversions() is IObjectCreationOperation or IInvocationOperation;
                    disposed |= declarator.Parent?.Parent?.Parent is IUsingDeclarationOperation or IUsingOperation;
                    break;
                case IInvocationOperation { TargetMethod.Name: "Dispose", Instance: ILocalReferenceOperation disposedLocal }
                    when SymbolEqualityComparer.Default.Equals(disposedLocal.Local, source):
                    disposed = true;
                    break;
            }
        }

        return created && disposed;
    }

    private static IOperation? FindInitializer(ILocalSymbol local, IOperation root)
    {
        foreach (var operation in root.Descendants())
        {
            if (operation is IVariableDeclaratorOperation declarator && SymbolEqualityComparer.Default.Equals(declarator.Symbol, local))
            {
                return declarator.Initializer?.Value;
            }
        }

        return null;
    }

    private sealed class KnownTypes
    {
        public KnownTypes(Compilation compilation)
        {
            CancellationToken = compilation.GetTypeByMetadataName("System.Threading.CancellationToken");
            CancellationTokenSource = compilation.GetTypeByMetadataName("System.Threading.CancellationTokenSource");
            ChangeToken = compilation.GetTypeByMetadataName("Microsoft.Extensions.Primitives.ChangeToken");
            OptionsMonitor = compilation.GetTypeByMetadataName("Microsoft.Extensions.Options.IOptionsMonitor`1");
            OptionsMonitorExtensions = compilation.GetTypeByMetadataName("Microsoft.Extensions.Options.OptionsMonitorExtensions");
            CompletionSource = compilation.GetTypeByMetadataName("System.Threading.Tasks.TaskCompletionSource");
            GenericCompletionSource = compilation.GetTypeByMetadataName("System.Threading.Tasks.TaskCompletionSource`1");
            HostedService = compilation.GetTypeByMetadataName("Microsoft.Extensions.Hosting.IHostedService");
            BackgroundService = compilation.GetTypeByMetadataName("Microsoft.Extensions.Hosting.BackgroundService");
            StartupFilter = compilation.GetTypeByMetadataName("Microsoft.AspNetCore.Hosting.IStartupFilter");
            ApplicationBuilder = compilation.GetTypeByMetadataName("Microsoft.AspNetCore.Builder.IApplicationBuilder");
        }

        public INamedTypeSymbol? CancellationToken { get; }

        public INamedTypeSymbol? CancellationTokenSource { get; }

        public bool IsEmpty => CancellationToken is null && ChangeToken is null && OptionsMonitor is null;

        private INamedTypeSymbol? ChangeToken { get; }

        private INamedTypeSymbol? OptionsMonitor { get; }

        private INamedTypeSymbol? OptionsMonitorExtensions { get; }

        private INamedTypeSymbol? CompletionSource { get; }

        private INamedTypeSymbol? GenericCompletionSource { get; }

        private INamedTypeSymbol? HostedService { get; }

        private INamedTypeSymbol? BackgroundService { get; }

        private INamedTypeSymbol? StartupFilter { get; }

        private INamedTypeSymbol? ApplicationBuilder { get; }

        public bool IsCompletionSource(ITypeSymbol? type) =>
            type is not null
            && (SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, CompletionSource)
                || SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, GenericCompletionSource));

        public bool IsHostedService(INamedTypeSymbol type) => Implements(type, HostedService);

        public bool IsBackgroundService(INamedTypeSymbol type) => BackgroundService is not null && type.InheritsFromOrEquals(BackgroundService);

        public bool IsStartupFilter(INamedTypeSymbol type) => Implements(type, StartupFilter);

        public bool IsApplicationBuilder(ITypeSymbol type) =>
            ApplicationBuilder is not null
            && (SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, ApplicationBuilder) || Implements(type, ApplicationBuilder));

        private static bool Implements(ITypeSymbol type, INamedTypeSymbol? @interface) =>
            @interface is not null && type.AllInterfaces.Contains(@interface, SymbolEqualityComparer.Default);

        public bool IsChangeRegistration(INamedTypeSymbol type) =>
            SymbolEqualityComparer.Default.Equals(type, ChangeToken)
            || SymbolEqualityComparer.Default.Equals(type, OptionsMonitor)
            || SymbolEqualityComparer.Default.Equals(type, OptionsMonitorExtensions);
    }
}
