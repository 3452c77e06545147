using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;

namespace SafeRefs.Analyzers.CodeFixes;

/// <summary>
/// How to keep a disposable in a private field of the class that contains a statement, and dispose it with the
/// class: in its existing <c>Dispose()</c>/<c>DisposeAsync()</c> (same declaration), or in a new <c>Dispose()</c>
/// with <see cref="IDisposable"/> added when the class implements neither interface.
/// </summary>
internal sealed class FieldPlan
{
    private FieldPlan(
        TypeDeclarationSyntax type,
        string fieldName,
        TypeSyntax fieldType,
        bool isReadOnly,
        bool isReferenceType,
        BaseMethodDeclarationSyntax? dispose,
        TypeSyntax disposableType,
        ExpressionSyntax? initializer,
        bool isNew)
    {
        Type = type;
        FieldName = fieldName;
        FieldType = fieldType;
        IsReadOnly = isReadOnly;
        IsReferenceType = isReferenceType;
        Dispose = dispose;
        DisposableType = disposableType;
        Initializer = initializer;
        IsNew = isNew;
    }

    /// <summary>Gets the name of the field (new, or an existing one to reuse).</summary>
    public string FieldName { get; }

    private TypeDeclarationSyntax Type { get; }

    private TypeSyntax FieldType { get; }

    private bool IsReadOnly { get; }

    private bool IsReferenceType { get; }

    private BaseMethodDeclarationSyntax? Dispose { get; }

    private TypeSyntax DisposableType { get; }

    private ExpressionSyntax? Initializer { get; }

    private bool IsNew { get; }

    /// <summary>
    /// Plans a field of type <paramref name="fieldType"/> for <paramref name="statement"/>'s class; with an
    /// <paramref name="initializer"/>, an existing <c>readonly</c> field of that type is reused instead.
    /// </summary>
    public static FieldPlan? TryCreate(
        SemanticModel model, StatementSyntax statement, ITypeSymbol fieldType, string baseName, ExpressionSyntax? initializer,
        CancellationToken cancellationToken)
    {
        var member = statement.FirstAncestorOrSelf<MemberDeclarationSyntax>();
        if (member is not (BaseMethodDeclarationSyntax or BasePropertyDeclarationSyntax)
            || member.Parent is not ClassDeclarationSyntax type
            || model.GetDeclaredSymbol(type, cancellationToken) is not { } typeSymbol
            || IsInStaticContext(statement, member)
            || model.Compilation.GetTypeByMetadataName("System.IDisposable") is not { } disposable)
        {
            return null;
        }

        if (initializer is not null
            && typeSymbol.GetMembers().OfType<IFieldSymbol>().FirstOrDefault(
                f => !f.IsStatic && f.IsReadOnly && SymbolEqualityComparer.Default.Equals(f.Type.OriginalDefinition, fieldType.OriginalDefinition)) is { } existingField)
        {
            // The class already owns one (say a TimerScope): reuse it, and assume it is disposed already.
            return new FieldPlan(type, existingField.Name, null!, true, fieldType.IsReferenceType, null, null!, null, isNew: false);
        }

        var inConstructor = initializer is null && member is ConstructorDeclarationSyntax && !IsInNestedFunction(statement, member);
        var nullable = initializer is null
            && fieldType.IsReferenceType
            && model.GetNullableContext(statement.SpanStart).AnnotationsEnabled()
            && (!inConstructor || fieldType.NullableAnnotation == NullableAnnotation.Annotated);
        var typeSyntax = TypeName(model, statement.SpanStart, fieldType.WithNullableAnnotation(NullableAnnotation.NotAnnotated));
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

        var fieldName = Names.UniqueMember(typeSymbol, "_" + baseName);
        return new FieldPlan(
            type,
            fieldName,
            typeSyntax,
            inConstructor || initializer is not null,
            fieldType.IsReferenceType,
            dispose,
            TypeName(model, statement.SpanStart, disposable),
            initializer,
            isNew: true);
    }

    /// <summary>The shortest name of <paramref name="type"/> that binds at <paramref name="position"/>.</summary>
    public static TypeSyntax TypeName(SemanticModel model, int position, ITypeSymbol type) =>
        SyntaxFactory.ParseTypeName(type.ToMinimalDisplayString(model, position));

    /// <summary>Replaces <paramref name="statement"/> with <paramref name="newStatement"/> and adds the field and its disposal.</summary>
    public SyntaxNode Apply(SyntaxNode root, StatementSyntax statement, StatementSyntax newStatement)
    {
        if (!IsNew)
        {
            return root.ReplaceNode(statement, newStatement);
        }

        var disposeName = SyntaxFactory.IdentifierName("Dispose");
        // Fields assigned later may still be null when Dispose runs; an initialised readonly field never is.
        ExpressionSyntax disposeExpression = IsReferenceType && Initializer is null
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

        var declarator = SyntaxFactory.VariableDeclarator(FieldName);
        if (Initializer is not null)
        {
            declarator = declarator.WithInitializer(SyntaxFactory.EqualsValueClause(Initializer));
        }

        var fieldDeclaration = SyntaxFactory.FieldDeclaration(
                SyntaxFactory.VariableDeclaration(FieldType, SyntaxFactory.SingletonSeparatedList(declarator)))
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
