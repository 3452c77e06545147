using System.Collections.Immutable;
using System.Composition;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;
using SafeRefs.Analyzers.WeakEvents;

namespace SafeRefs.Analyzers.CodeFixes;

/// <summary>
/// Offered on SR1001 when the subscribed event is a plain field-like event declared in the solution
/// (<c>public event EventHandler&lt;T&gt;? X;</c>): turns its declaration into <c>[WeakEvent] public partial event …</c>
/// and makes its type (and containing types) partial, so the source no longer keeps its subscribers alive. Raises in
/// the type (<c>X?.Invoke(this, e)</c>) become calls of the generated raise method (<c>OnX(e)</c>); the fix is not
/// offered when the type uses the event in any other way, already has a member with the raise method's name (a call
/// could bind to it), or where the generator would report the event (SR2004: a base class member it would hide, a
/// file-local type).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(WeakEventAttributeCodeFixProvider))]
[Shared]
public sealed class WeakEventAttributeCodeFixProvider : CodeFixProvider
{
    /// <summary>The equivalence key of the fix.</summary>
    public const string EquivalenceKey = "SafeRefs.MakeWeakEvent";

    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.LongLivedSubscription);

    /// <inheritdoc/>
    public override FixAllProvider? GetFixAllProvider() => null;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        var node = root?.FindNode(context.Diagnostics[0].Location.SourceSpan, getInnermostNodeForTie: true);
        var assignment = node?.DescendantNodesAndSelf().OfType<AssignmentExpressionSyntax>().FirstOrDefault(a => a.IsKind(SyntaxKind.AddAssignmentExpression));
        if (assignment is null || model?.GetSymbolInfo(assignment.Left, context.CancellationToken).Symbol is not IEventSymbol symbol
            || !WeakEventDeclaration.CanConvert(symbol, model.Compilation, context.CancellationToken))
        {
            return;
        }

        var reference = symbol.DeclaringSyntaxReferences[0];
        var document = context.Document.Project.Solution.GetDocument(reference.SyntaxTree);
        if (document is null || symbol.ContainingType.DeclaringSyntaxReferences.Length != 1
            || !symbol.ContainingType.GetMembers("On" + symbol.Name).IsEmpty
            || await FindRaisesAsync(document, symbol, context.CancellationToken).ConfigureAwait(false) is null)
        {
            return;
        }

        context.RegisterCodeFix(
            CodeAction.Create(
                $"Make '{symbol.Name}' a [WeakEvent] (the source holds its subscribers weakly)",
                ct => ConvertAsync(document, reference, ct),
                EquivalenceKey),
            context.Diagnostics[0]);
    }

    private static async Task<Solution> ConvertAsync(Document document, SyntaxReference reference, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || await reference.GetSyntaxAsync(cancellationToken).ConfigureAwait(false) is not VariableDeclaratorSyntax { Parent.Parent: EventFieldDeclarationSyntax field })
        {
            return document.Project.Solution;
        }

        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        if (model?.GetDeclaredSymbol(await reference.GetSyntaxAsync(cancellationToken).ConfigureAwait(false), cancellationToken) is not IEventSymbol symbol
            || await FindRaisesAsync(document, symbol, cancellationToken).ConfigureAwait(false) is not { } raises)
        {
            return document.Project.Solution;
        }

        var types = field.Ancestors().OfType<TypeDeclarationSyntax>().ToList();
        var newRoot = root.TrackNodes(types.Cast<SyntaxNode>().Append(field).Concat(raises.Select(r => r.Raise)));

        foreach (var (raise, arguments) in raises)
        {
            var current = newRoot.GetCurrentNode(raise)!;
            var call = SyntaxFactory.InvocationExpression(
                SyntaxFactory.IdentifierName("On" + symbol.Name),
                SyntaxFactory.ArgumentList(SyntaxFactory.SeparatedList(arguments)))
                .WithTriviaFrom(current);
            newRoot = newRoot.ReplaceNode(current, call);
        }

        var trackedField = newRoot.GetCurrentNode(field)!;
        var attribute = SyntaxFactory.AttributeList(SyntaxFactory.SingletonSeparatedList(SyntaxFactory.Attribute(SyntaxFactory.IdentifierName("WeakEvent"))));
        var convertedField = trackedField
            .WithAttributeLists(trackedField.AttributeLists.Add(attribute))
            .WithModifiers(trackedField.Modifiers.Add(SyntaxFactory.Token(SyntaxKind.PartialKeyword)))
            .WithAdditionalAnnotations(Formatter.Annotation);
        newRoot = newRoot.ReplaceNode(trackedField, convertedField);

        foreach (var type in types)
        {
            var current = newRoot.GetCurrentNode(type)!;
            if (!current.Modifiers.Any(SyntaxKind.PartialKeyword))
            {
                newRoot = newRoot.ReplaceNode(current, current.WithModifiers(current.Modifiers.Add(SyntaxFactory.Token(SyntaxKind.PartialKeyword))));
            }
        }

        if (newRoot is CompilationUnitSyntax unit && !unit.Usings.Any(u => u.Name?.ToString() == "SafeRefs.Events"))
        {
            newRoot = unit.AddUsings(SyntaxFactory.UsingDirective(SyntaxFactory.ParseName("SafeRefs.Events")).WithAdditionalAnnotations(Formatter.Annotation));
        }

        return document.WithSyntaxRoot(newRoot).Project.Solution;
    }

    /// <summary>
    /// Finds the raises of <paramref name="symbol"/> in its type (<c>X?.Invoke(...)</c> with the sender
    /// <c>this</c>, or <c>null</c> for a static event, for the EventHandler shapes) and the arguments the generated raise
    /// method takes; <see langword="null"/> when the type uses the event in a way the fix cannot carry over.
    /// </summary>
    private static async Task<List<(ExpressionSyntax Raise, IEnumerable<ArgumentSyntax> Arguments)>?> FindRaisesAsync(Document document, IEventSymbol symbol, CancellationToken cancellationToken)
    {
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        var typeSyntax = await symbol.ContainingType.DeclaringSyntaxReferences[0].GetSyntaxAsync(cancellationToken).ConfigureAwait(false);
        if (model is null || typeSyntax.SyntaxTree != model.SyntaxTree)
        {
            return null;
        }

        var custom = symbol.Type is INamedTypeSymbol named && named.ConstructedFrom.ToDisplayString() is not
            ("System.EventHandler" or "System.EventHandler<TEventArgs>" or "System.ComponentModel.PropertyChangedEventHandler" or "System.Collections.Specialized.NotifyCollectionChangedEventHandler");
        var raises = new List<(ExpressionSyntax, IEnumerable<ArgumentSyntax>)>();
        foreach (var name in typeSyntax.DescendantNodes().OfType<IdentifierNameSyntax>())
        {
            if (name.Identifier.ValueText != symbol.Name || !SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(name, cancellationToken).Symbol, symbol))
            {
                continue;
            }

            var expression = name.Parent is MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax } access && access.Name == name ? (ExpressionSyntax)access : name;
            if (expression.Parent is AssignmentExpressionSyntax assignment && assignment.Left == expression
                && (assignment.IsKind(SyntaxKind.AddAssignmentExpression) || assignment.IsKind(SyntaxKind.SubtractAssignmentExpression)))
            {
                continue;
            }

            if (expression.Parent is not ConditionalAccessExpressionSyntax
                {
                    WhenNotNull: InvocationExpressionSyntax { Expression: MemberBindingExpressionSyntax { Name.Identifier.ValueText: "Invoke" }, ArgumentList.Arguments: var arguments },
                } raise || raise.Expression != expression)
            {
                return null;
            }

            if (custom)
            {
                raises.Add((raise, arguments));
                continue;
            }

            var sender = arguments.Count == 2 ? arguments[0].Expression : null;
            var senderOk = symbol.IsStatic ? sender is LiteralExpressionSyntax { RawKind: (int)SyntaxKind.NullLiteralExpression } : sender is ThisExpressionSyntax;
            if (!senderOk)
            {
                return null;
            }

            raises.Add((raise, new[] { arguments[1] }));
        }

        return raises;
    }
}
