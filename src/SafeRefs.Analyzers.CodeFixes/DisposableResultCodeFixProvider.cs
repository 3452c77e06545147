using System.Collections.Immutable;
using System.Composition;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Formatting;

namespace SafeRefs.Analyzers.CodeFixes;

/// <summary>
/// Fixes SR1003 (undisposed timer), SR1005 (discarded <c>CancellationToken.Register</c>) and SR1006 (discarded
/// change-token registration) in two ways: <c>using var</c> (disposed at the end of the scope), or a field that the
/// type's <c>Dispose</c> disposes (added, with <see cref="IDisposable"/>, when the type has none).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(DisposableResultCodeFixProvider))]
[Shared]
public sealed class DisposableResultCodeFixProvider : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(
        DiagnosticIds.UndisposedTimer, DiagnosticIds.DiscardedCancellationRegistration, DiagnosticIds.DiscardedChangeRegistration);

    /// <inheritdoc/>
    public override FixAllProvider? GetFixAllProvider() => null;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null || model is null)
        {
            return;
        }

        var diagnostic = context.Diagnostics[0];
        var statement = root.FindNode(diagnostic.Location.SourceSpan, findInsideTrivia: false, getInnermostNodeForTie: true)
            .FirstAncestorOrSelf<StatementSyntax>();
        var baseName = diagnostic.Id switch
        {
            DiagnosticIds.UndisposedTimer => "timer",
            DiagnosticIds.DiscardedCancellationRegistration => "registration",
            _ => "changeRegistration",
        };

        ExpressionSyntax? value;
        switch (statement)
        {
            case ExpressionStatementSyntax expressionStatement:
                value = expressionStatement.Expression is AssignmentExpressionSyntax { Left: IdentifierNameSyntax { Identifier.ValueText: "_" } } discard
                    ? discard.Right
                    : expressionStatement.Expression;
                break;
            case LocalDeclarationStatementSyntax { Declaration.Variables.Count: 1 } declaration
                when declaration.UsingKeyword.IsKind(SyntaxKind.None):
                value = declaration.Declaration.Variables[0].Initializer?.Value;
                break;
            default:
                return;
        }

        if (value is null)
        {
            return;
        }

        if (statement.Parent is BlockSyntax or GlobalStatementSyntax)
        {
            context.RegisterCodeFix(
                CodeAction.Create(
                    "Dispose at the end of the scope ('using var')",
                    ct => UseUsingAsync(context.Document, root, model, statement, value, baseName, ct),
                    nameof(UseUsingAsync)),
                diagnostic);
        }

        if (FieldPlan.TryCreate(context.Document, model, statement, value, baseName, context.CancellationToken) is { } plan)
        {
            context.RegisterCodeFix(
                CodeAction.Create(
                    $"Keep it in field '{plan.FieldName}' and dispose it in Dispose()",
                    _ => Task.FromResult(context.Document.WithSyntaxRoot(plan.Apply(root, statement, value))),
                    nameof(FieldPlan)),
                diagnostic);
        }
    }

    private static Task<Document> UseUsingAsync(
        Document document, SyntaxNode root, SemanticModel model, StatementSyntax statement, ExpressionSyntax value, string baseName,
        CancellationToken cancellationToken)
    {
        _ = cancellationToken;
        LocalDeclarationStatementSyntax replacement;
        if (statement is LocalDeclarationStatementSyntax declaration)
        {
            replacement = declaration
                .WithUsingKeyword(SyntaxFactory.Token(SyntaxKind.UsingKeyword).WithLeadingTrivia(declaration.GetLeadingTrivia()))
                .WithDeclaration(declaration.Declaration.WithLeadingTrivia(SyntaxFactory.Space));
        }
        else
        {
            var name = Names.UniqueLocal(model, statement, baseName);
            replacement = SyntaxFactory.LocalDeclarationStatement(
                    SyntaxFactory.VariableDeclaration(
                        SyntaxFactory.IdentifierName("var"),
                        SyntaxFactory.SingletonSeparatedList(
                            SyntaxFactory.VariableDeclarator(name).WithInitializer(SyntaxFactory.EqualsValueClause(value.WithoutTrivia())))))
                .WithUsingKeyword(SyntaxFactory.Token(SyntaxKind.UsingKeyword))
                .WithTriviaFrom(statement)
                .WithAdditionalAnnotations(Formatter.Annotation);
        }

        return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(statement, replacement)));
    }

    /// <summary>How to keep the value in a field and where to dispose it.</summary>
    private sealed class FieldPlan
    {
        private FieldPlan(
            TypeDeclarationSyntax type, string fieldName, TypeSyntax fieldType, bool isReadOnly, bool isReferenceType, BaseMethodDeclarationSyntax? dispose)
        {
            Type = type;
            FieldName = fieldName;
            FieldType = fieldType;
            IsReadOnly = isReadOnly;
            IsReferenceType = isReferenceType;
            Dispose = dispose;
        }

        public string FieldName { get; }

        private TypeDeclarationSyntax Type { get; }

        private TypeSyntax FieldType { get; }

        private bool IsReadOnly { get; }

        private bool IsReferenceType { get; }

        private BaseMethodDeclarationSyntax? Dispose { get; }

        private TypeSyntax DisposableType { get; set; } = null!;

        public static FieldPlan? TryCreate(
            Document document, SemanticModel model, StatementSyntax statement, ExpressionSyntax value, string baseName,
            CancellationToken cancellationToken)
        {
            var member = statement.FirstAncestorOrSelf<MemberDeclarationSyntax>();
            if (member is not (BaseMethodDeclarationSyntax or BasePropertyDeclarationSyntax)
                || member.Parent is not ClassDeclarationSyntax type
                || model.GetDeclaredSymbol(type, cancellationToken) is not { } typeSymbol
                || IsInStaticContext(statement, member)
                || model.GetTypeInfo(value, cancellationToken).Type is not { TypeKind: not TypeKind.Error } valueType)
            {
                return null;
            }

            var inConstructor = member is ConstructorDeclarationSyntax && !IsInNestedFunction(statement, member);
            var nullable = valueType.IsReferenceType
                && model.GetNullableContext(statement.SpanStart).AnnotationsEnabled()
                && (!inConstructor || valueType.NullableAnnotation == NullableAnnotation.Annotated);
            var generator = SyntaxGenerator.GetGenerator(document);
            var typeSyntax = (TypeSyntax)generator.TypeExpression(valueType.WithNullableAnnotation(NullableAnnotation.NotAnnotated), addImport: true);
            if (nullable)
            {
                typeSyntax = SyntaxFactory.NullableType(typeSyntax);
            }

            BaseMethodDeclarationSyntax? dispose = null;
            var existing = typeSymbol.GetMembers()
                .OfType<IMethodSymbol>()
                .FirstOrDefault(m => m.Name is "Dispose" or "DisposeAsync" && m.Parameters.IsEmpty && !m.IsStatic && !m.IsAbstract);
            if (existing is not null)
            {
                dispose = existing.DeclaringSyntaxReferences
                    .Select(r => r.GetSyntax(cancellationToken))
                    .OfType<BaseMethodDeclarationSyntax>()
                    .FirstOrDefault(d => d.Parent == type && (d.Body is not null || d.ExpressionBody is not null));
                if (dispose is null)
                {
                    return null;
                }
            }
            else if (typeSymbol.AllInterfaces.Any(i => i.Name is "IDisposable" or "IAsyncDisposable" && i.ContainingNamespace.Name == "System"))
            {
                return null;
            }

            if (model.Compilation.GetTypeByMetadataName("System.IDisposable") is not { } disposable)
            {
                return null;
            }

            var fieldName = Names.UniqueMember(typeSymbol, "_" + baseName);
            return new FieldPlan(type, fieldName, typeSyntax, inConstructor, valueType.IsReferenceType, dispose)
            {
                // IDisposable when it is in scope (using System, implicit usings), System.IDisposable otherwise.
                DisposableType = model.LookupNamespacesAndTypes(statement.SpanStart, name: "IDisposable")
                    .Any(s => SymbolEqualityComparer.Default.Equals(s, disposable))
                    ? SyntaxFactory.IdentifierName("IDisposable")
                    : SyntaxFactory.ParseTypeName("System.IDisposable"),
            };
        }

        public SyntaxNode Apply(SyntaxNode root, StatementSyntax statement, ExpressionSyntax value)
        {
            var field = SyntaxFactory.IdentifierName(FieldName);
            var assignment = SyntaxFactory.AssignmentExpression(SyntaxKind.SimpleAssignmentExpression, field, value.WithoutTrivia());
            StatementSyntax newStatement = statement is LocalDeclarationStatementSyntax declaration
                ? declaration.ReplaceNode(value, assignment.WithTriviaFrom(value))
                : SyntaxFactory.ExpressionStatement(assignment).WithTriviaFrom(statement);

            var disposeName = SyntaxFactory.IdentifierName("Dispose");
            ExpressionSyntax disposeExpression = IsReferenceType
                ? SyntaxFactory.ConditionalAccessExpression(
                    SyntaxFactory.IdentifierName(FieldName),
                    SyntaxFactory.InvocationExpression(SyntaxFactory.MemberBindingExpression(disposeName)))
                : SyntaxFactory.InvocationExpression(
                    SyntaxFactory.MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, SyntaxFactory.IdentifierName(FieldName), disposeName));
            var disposeCall = SyntaxFactory.ExpressionStatement(disposeExpression).WithAdditionalAnnotations(Formatter.Annotation);

            var modifiers = SyntaxFactory.TokenList(SyntaxFactory.Token(SyntaxKind.PrivateKeyword));
            if (IsReadOnly)
            {
                modifiers = modifiers.Add(SyntaxFactory.Token(SyntaxKind.ReadOnlyKeyword));
            }

            var fieldDeclaration = SyntaxFactory.FieldDeclaration(
                    SyntaxFactory.VariableDeclaration(FieldType, SyntaxFactory.SingletonSeparatedList(SyntaxFactory.VariableDeclarator(FieldName))))
                .WithModifiers(modifiers)
                .WithAdditionalAnnotations(Formatter.Annotation);

            var type = Dispose is null ? Type.TrackNodes(statement) : Type.TrackNodes(statement, Dispose);

            type = type.ReplaceNode(type.GetCurrentNode(statement)!, newStatement);
            if (Dispose is not null)
            {
                var current = type.GetCurrentNode(Dispose)!;
                type = type.ReplaceNode(current, AddToDispose(current, disposeCall));
            }

            var members = type.Members.Insert(0, fieldDeclaration);
            if (Dispose is null)
            {
                var method = SyntaxFactory.MethodDeclaration(SyntaxFactory.PredefinedType(SyntaxFactory.Token(SyntaxKind.VoidKeyword)), "Dispose")
                    .WithModifiers(SyntaxFactory.TokenList(SyntaxFactory.Token(SyntaxKind.PublicKeyword)))
                    .WithBody(SyntaxFactory.Block(disposeCall))
                    .WithAdditionalAnnotations(Formatter.Annotation);
                members = members.Add(method);
                var disposable = SyntaxFactory.SimpleBaseType(DisposableType);
                type = type.BaseList is null
                    ? type.WithIdentifier(type.Identifier.WithTrailingTrivia())
                        .WithBaseList(SyntaxFactory.BaseList(SyntaxFactory.SingletonSeparatedList<BaseTypeSyntax>(disposable))
                            .WithTrailingTrivia(type.Identifier.TrailingTrivia))
                    : type.WithBaseList(type.BaseList.AddTypes(disposable));
            }

            type = type.WithMembers(members);
            return root.ReplaceNode(Type, type.WithAdditionalAnnotations(Formatter.Annotation));
        }

        private static BaseMethodDeclarationSyntax AddToDispose(BaseMethodDeclarationSyntax dispose, StatementSyntax call)
        {
            if (dispose.Body is { } body)
            {
                return dispose.WithBody(body.WithStatements(body.Statements.Insert(0, call)));
            }

            var expression = dispose.ExpressionBody!.Expression;
            var isAsyncReturn = dispose is MethodDeclarationSyntax { Identifier.ValueText: "DisposeAsync" }
                && !dispose.Modifiers.Any(SyntaxKind.AsyncKeyword);
            StatementSyntax last = isAsyncReturn
                ? SyntaxFactory.ReturnStatement(expression)
                : SyntaxFactory.ExpressionStatement(expression);
            return dispose
                .WithExpressionBody(null)
                .WithSemicolonToken(default)
                .WithBody(SyntaxFactory.Block(call, last))
                .WithAdditionalAnnotations(Formatter.Annotation);
        }

        private static bool IsInNestedFunction(SyntaxNode node, SyntaxNode member)
        {
            for (var current = node.Parent; current is not null && current != member; current = current.Parent)
            {
                if (current is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)
                {
                    return true;
                }
            }

            return false;
        }

        private static bool IsInStaticContext(SyntaxNode node, MemberDeclarationSyntax member)
        {
            if (member.Modifiers.Any(SyntaxKind.StaticKeyword))
            {
                return true;
            }

            for (var current = node.Parent; current is not null && current != member; current = current.Parent)
            {
                if (current is AnonymousFunctionExpressionSyntax function && function.Modifiers.Any(SyntaxKind.StaticKeyword))
                {
                    return true;
                }

                if (current is LocalFunctionStatementSyntax local && local.Modifiers.Any(SyntaxKind.StaticKeyword))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
