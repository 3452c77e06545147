using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
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

            start.RegisterOperationAction(c => Analyze(c, known), OperationKind.Invocation);
        });
    }

    private static void Analyze(OperationAnalysisContext context, KnownTypes known)
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

        context.ReportDiagnostic(Diagnostic.Create(
            Descriptors.SR1005, statement.Syntax.GetLocation(), "CancellationToken." + method.Name));
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
        }

        public INamedTypeSymbol? CancellationToken { get; }

        public INamedTypeSymbol? CancellationTokenSource { get; }

        public bool IsEmpty => CancellationToken is null && ChangeToken is null && OptionsMonitor is null;

        private INamedTypeSymbol? ChangeToken { get; }

        private INamedTypeSymbol? OptionsMonitor { get; }

        private INamedTypeSymbol? OptionsMonitorExtensions { get; }

        public bool IsChangeRegistration(INamedTypeSymbol type) =>
            SymbolEqualityComparer.Default.Equals(type, ChangeToken)
            || SymbolEqualityComparer.Default.Equals(type, OptionsMonitor)
            || SymbolEqualityComparer.Default.Equals(type, OptionsMonitorExtensions);
    }
}
