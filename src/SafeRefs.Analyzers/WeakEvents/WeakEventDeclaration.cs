using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace SafeRefs.Analyzers.WeakEvents;

/// <summary>
/// What the <c>[WeakEvent]</c> generator and its analyzer know of one annotated event: whether it can be implemented
/// and, if so, which shape of raise it gets. Both use this one check, so the generator never writes code for an event
/// the analyzer reports.
/// </summary>
internal sealed class WeakEventDeclaration
{
    /// <summary>The attribute's metadata name.</summary>
    public const string AttributeName = "SafeRefs.Events.WeakEventAttribute";

    private const string BudgetTypeName = "SafeRefs.Subscriptions.ListenerBudget";

    private WeakEventDeclaration(IEventSymbol symbol, EventFieldDeclarationSyntax syntax, INamedTypeSymbol delegateType, WeakEventShape shape, string? budget)
    {
        Symbol = symbol;
        Syntax = syntax;
        DelegateType = delegateType;
        Shape = shape;
        Budget = budget;
    }

    /// <summary>Gets the name of the static member holding the event's budget, or <see langword="null"/> for none.</summary>
    public string? Budget { get; }

    /// <summary>Gets the event (its defining declaration).</summary>
    public IEventSymbol Symbol { get; }

    /// <summary>Gets the defining declaration (the <c>partial event T Name;</c> line).</summary>
    public EventFieldDeclarationSyntax Syntax { get; }

    /// <summary>Gets the event's delegate type.</summary>
    public INamedTypeSymbol DelegateType { get; }

    /// <summary>Gets the kind of delegate, which decides the backing type and the raise method.</summary>
    public WeakEventShape Shape { get; }

    /// <summary>Checks <paramref name="symbol"/>; returns the declaration, or <see langword="null"/> and the problem.</summary>
    public static WeakEventDeclaration? Check(IEventSymbol symbol, Compilation compilation, CancellationToken cancellationToken, out Diagnostic? problem)
    {
        problem = null;
        var location = symbol.Locations.FirstOrDefault() ?? Location.None;
        var definition = symbol.PartialDefinitionPart ?? symbol;

        var container = definition.ContainingType;
        if (container.TypeKind != TypeKind.Class)
        {
            var what = container.TypeKind == TypeKind.Interface ? "an interface has no place for its handlers" : "a struct's copies would each hold their own handlers";
            problem = Diagnostic.Create(Descriptors.SR2004, location, definition.Name, what);
            return null;
        }

        if (definition.IsAbstract || definition.IsVirtual || definition.IsOverride || !definition.ExplicitInterfaceImplementations.IsEmpty)
        {
            problem = Diagnostic.Create(Descriptors.SR2004, location, definition.Name, "an abstract, virtual, override or explicit interface event has no single implementation to generate");
            return null;
        }

        if (!definition.IsPartialDefinition || FieldLikeSyntax(definition, cancellationToken) is not { } syntax)
        {
            problem = Diagnostic.Create(Descriptors.SR2001, location, definition.Name);
            return null;
        }

        for (var type = container; type is not null; type = type.ContainingType)
        {
            if (type.IsFileLocal)
            {
                problem = Diagnostic.Create(Descriptors.SR2004, location, definition.Name, $"the generated part of '{type.Name}' is in another file, and a file-local type's parts must all be in one file");
                return null;
            }

            if (!IsPartial(type, cancellationToken))
            {
                problem = Diagnostic.Create(Descriptors.SR2002, location, type.Name, definition.Name);
                return null;
            }
        }

        if (DelegateProblem(definition.Type) is { } reason)
        {
            problem = Diagnostic.Create(Descriptors.SR2003, location, definition.Name, reason);
            return null;
        }

        var budget = BudgetName(definition);
        if (budget is not null && BudgetProblem(container, budget, compilation) is { } budgetReason)
        {
            problem = Diagnostic.Create(Descriptors.SR2005, location, definition.Name, budget, budgetReason);
            return null;
        }

        if (UndefinedOption(definition) is { } undefined)
        {
            problem = Diagnostic.Create(Descriptors.SR2006, location, definition.Name, undefined.Key, undefined.Value.Value, undefined.Value.Type?.Name);
            return null;
        }

        // The emitter writes the name as given (a keyword escaped with '@'): anything else would not compile.
        var raise = WeakEventEmitter.RaiseName(definition, FindAttribute(definition));
        if (!SyntaxFacts.IsValidIdentifier(raise))
        {
            problem = Diagnostic.Create(Descriptors.SR2004, location, definition.Name, $"RaiseMethodName \"{raise}\" is not an identifier, so no raise method can have it (leave it unset for 'On{definition.Name}')");
            return null;
        }

        var delegateType = (INamedTypeSymbol)definition.Type;
        var shape = ShapeOf(delegateType);
        if (Collision(definition, compilation) is { } collision)
        {
            problem = Diagnostic.Create(Descriptors.SR2004, location, definition.Name, collision);
            return null;
        }

        return new WeakEventDeclaration(definition, syntax, delegateType, shape, budget);
    }

    /// <summary>
    /// Gets whether a plain field-like event (<c>public event EventHandler? X;</c>) declared in source can become a
    /// <c>[WeakEvent]</c> partial event: an instance or static event of a class outside any file-local type, not
    /// virtual, of a supported delegate, whose generated members would neither redeclare nor hide another.
    /// </summary>
    public static bool CanConvert(IEventSymbol symbol, Compilation compilation, CancellationToken cancellationToken)
    {
        if (symbol.ContainingType is not { TypeKind: TypeKind.Class } || symbol.IsAbstract || symbol.IsVirtual || symbol.IsOverride
            || symbol.IsPartialDefinition || symbol.PartialDefinitionPart is not null || !symbol.ExplicitInterfaceImplementations.IsEmpty
            || DelegateProblem(symbol.Type) is not null || FindAttribute(symbol) is not null || Collision(symbol, compilation) is not null)
        {
            return false;
        }

        for (var type = symbol.ContainingType; type is not null; type = type.ContainingType)
        {
            if (type.IsFileLocal)
            {
                return false;
            }
        }

        foreach (var reference in symbol.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(cancellationToken) is VariableDeclaratorSyntax { Initializer: null, Parent.Parent: EventFieldDeclarationSyntax field }
                && field.Declaration.Variables.Count == 1)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Gets whether <paramref name="symbol"/> carries <c>[WeakEvent]</c>.</summary>
    public static AttributeData? FindAttribute(IEventSymbol symbol)
    {
        foreach (var attribute in symbol.GetAttributes())
        {
            if (attribute.AttributeClass?.ToDisplayString() == AttributeName)
            {
                return attribute;
            }
        }

        return null;
    }

    private static string? BudgetName(IEventSymbol definition)
    {
        foreach (var argument in FindAttribute(definition)?.NamedArguments ?? ImmutableArray<KeyValuePair<string, TypedConstant>>.Empty)
        {
            if (argument.Key == "Budget" && argument.Value.Value is string name)
            {
                return name;
            }
        }

        return null;
    }

    /// <summary>The first enum-typed attribute argument whose value its enum does not define, if any.</summary>
    private static KeyValuePair<string, TypedConstant>? UndefinedOption(IEventSymbol definition)
    {
        foreach (var argument in FindAttribute(definition)?.NamedArguments ?? ImmutableArray<KeyValuePair<string, TypedConstant>>.Empty)
        {
            if (argument.Value is { Kind: TypedConstantKind.Enum, Type: { } type, Value: { } value }
                && !type.GetMembers().OfType<IFieldSymbol>().Any(field => field.HasConstantValue && Equals(field.ConstantValue, value)))
            {
                return argument;
            }
        }

        return null;
    }

    /// <summary>Why <paramref name="name"/> is not a static <c>ListenerBudget</c> field or property in scope of the class.</summary>
    private static string? BudgetProblem(INamedTypeSymbol container, string name, Compilation compilation)
    {
        if (!SyntaxFacts.IsValidIdentifier(name))
        {
            return "it is not an identifier (write Budget = nameof(Member))";
        }

        // The generated initializer names the member unqualified: it must be found in the class, a base class or a
        // containing class, as a static field or property whose type is ListenerBudget. As in C#'s lookup, members
        // the class cannot access are passed over.
        ISymbol? inaccessible = null;
        for (var outer = container; outer is not null; outer = outer.ContainingType)
        {
            for (var type = outer; type is not null; type = type.BaseType)
            {
                foreach (var member in type.GetMembers(name))
                {
                    if (!compilation.IsSymbolAccessibleWithin(member, container))
                    {
                        inaccessible ??= member;
                        continue;
                    }

                    var memberType = member switch
                    {
                        IFieldSymbol field => field.Type,
                        IPropertySymbol { GetMethod: not null } property => property.Type,
                        _ => null,
                    };
                    if (memberType is null)
                    {
                        return $"'{name}' is not a field or a readable property";
                    }

                    if (!member.IsStatic)
                    {
                        return $"'{name}' is not static (the generated options are shared by every instance)";
                    }

                    return memberType.ToDisplayString() == BudgetTypeName ? null : $"'{name}' is not of type ListenerBudget";
                }
            }
        }

        return inaccessible is null
            ? $"no member '{name}' in '{container.Name}'"
            : $"'{inaccessible.ContainingType.Name}.{name}' is not accessible in '{container.Name}'";
    }

    /// <summary>
    /// Why the members of the class or its base classes, written by hand or generated for their other weak events,
    /// leave no room for the generated ones: a member named as a generated field, or one named as the raise method
    /// that is not a method or has its parameter types. Overloads with other parameters are legal and allowed, and so
    /// are base class members the class cannot access.
    /// </summary>
    private static string? Collision(IEventSymbol definition, Compilation compilation)
    {
        var container = definition.ContainingType;
        var generated = Generated(definition, compilation);

        // The raise method may not take the name of one of the event's own generated fields (CS0102).
        var raise = generated[generated.Length - 1].Name;
        if (generated.Take(generated.Length - 1).Any(field => field.Name == raise))
        {
            return $"the generated raise method '{raise}' would have the name of the event's own generated field (set RaiseMethodName to another name)";
        }

        foreach (var (name, signatures, _) in generated)
        {
            // No member may be named as its class (CS0542) or as one of the class's type parameters (CS0102).
            if (name == container.Name || container.TypeParameters.Any(p => p.Name == name))
            {
                var member = signatures is null ? $"field '{name}'" : $"raise method '{name}'";
                var owner = name == container.Name ? "the class" : $"a type parameter of '{container.Name}'";
                return $"the generated {member} would have the name of {owner}, which no member can have ({(signatures is null ? "rename the event" : "set RaiseMethodName")})";
            }

            for (var type = container; type is not null; type = type.BaseType)
            {
                // The class's own members would be declared twice; the accessible members of base classes would be
                // hidden (a warning in the generated file, an error where warnings are errors).
                var own = SymbolEqualityComparer.Default.Equals(type, container);
                foreach (var (what, theirs) in Members(type, name, definition, own ? null : container, compilation))
                {
                    if (signatures is null || theirs is null || signatures.Any(s => theirs.Any(t => s.SequenceEqual(t))))
                    {
                        var member = signatures is null ? $"field '{name}'" : "raise method";
                        var fix = signatures is null ? "rename the member or the event" : "rename it, or set RaiseMethodName";
                        return $"the class {(own ? "already declares" : "inherits")} {what}, which the generated {member} would {(own ? "redeclare" : "hide")} ({fix})";
                    }
                }
            }
        }

        return null;
    }

    /// <summary>
    /// The members of <paramref name="type"/> named <paramref name="name"/> (accessible in <paramref name="derived"/>,
    /// if given): those written by hand, and those the generator writes for its weak events other than
    /// <paramref name="definition"/>. Each comes with its parameter type lists, or <see langword="null"/> for one that
    /// is not a method.
    /// </summary>
    private static IEnumerable<(string What, ImmutableArray<string>[]? Signatures)> Members(
        INamedTypeSymbol type, string name, IEventSymbol definition, INamedTypeSymbol? derived, Compilation compilation)
    {
        // The generator does not see generated members, the analyzer does (in the files of the events' implementing
        // parts): both take them from the events instead, so they reach the same verdict.
        var generatedFiles = new HashSet<SyntaxTree>();
        foreach (var weakEvent in type.GetMembers().OfType<IEventSymbol>())
        {
            if (!weakEvent.IsPartialDefinition || FindAttribute(weakEvent) is null || DelegateProblem(weakEvent.Type) is not null)
            {
                continue;
            }

            if (weakEvent.PartialImplementationPart?.Locations.FirstOrDefault()?.SourceTree is { } file)
            {
                generatedFiles.Add(file);
            }

            if (!SymbolEqualityComparer.Default.Equals(weakEvent, definition))
            {
                foreach (var (generated, signatures, inherited) in Generated(weakEvent, compilation))
                {
                    if (generated == name && (derived is null || inherited))
                    {
                        yield return ($"'{type.Name}.{name}' (generated for its weak event '{weakEvent.Name}')", signatures);
                    }
                }
            }
        }

        foreach (var member in type.GetMembers(name))
        {
            if (member.Locations.All(l => l.SourceTree is { } file && generatedFiles.Contains(file))
                || (derived is not null && !compilation.IsSymbolAccessibleWithin(member, derived)))
            {
                continue;
            }

            // Only a non-generic method with value parameters has a signature the generated methods can share.
            ImmutableArray<string>[]? signatures = member is not IMethodSymbol method ? null
                : method.Arity == 0 && method.Parameters.All(p => p.RefKind == RefKind.None) ? [Ids(method.Parameters.Select(p => p.Type))]
                : [];
            yield return ($"'{member.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat)}'", signatures);
        }
    }

    /// <summary>
    /// The members the generator writes for <paramref name="weakEvent"/>: the fields (no signatures, private), and the
    /// raise method with the parameter type lists of its overloads and whether a derived class can see it.
    /// </summary>
    private static (string Name, ImmutableArray<string>[]? Signatures, bool Inherited)[] Generated(IEventSymbol weakEvent, Compilation compilation)
    {
        var delegateType = (INamedTypeSymbol)weakEvent.Type;
        var invoke = delegateType.DelegateInvokeMethod!.Parameters;
        ImmutableArray<string>[] signatures = ShapeOf(delegateType) switch
        {
            WeakEventShape.Custom => [Ids(invoke.Select(p => p.Type))],
            WeakEventShape.PropertyChanged => [Ids([invoke[1].Type]), Ids([compilation.GetSpecialType(SpecialType.System_String)])],
            _ => [Ids([invoke[1].Type])],
        };

        var attribute = FindAttribute(weakEvent);
        return
        [
            (WeakEventEmitter.FieldName(weakEvent), null, false),
            (WeakEventEmitter.OptionsName(weakEvent), null, false),
            (WeakEventEmitter.RaiseName(weakEvent, attribute), signatures, WeakEventEmitter.RaiseAccessibility(weakEvent, attribute) != "private"),
        ];
    }

    /// <summary>
    /// Parameter types as the compiler compares overloads: by documentation ID, which names the runtime type (no tuple
    /// element names, dynamic as object, no nullable annotations).
    /// </summary>
    private static ImmutableArray<string> Ids(IEnumerable<ITypeSymbol> types) => [.. types.Select(DocumentationCommentId.CreateReferenceId)];

    private static string? DelegateProblem(ITypeSymbol type)
    {
        if (type is not INamedTypeSymbol { DelegateInvokeMethod: { } invoke })
        {
            return "its type is not a delegate type";
        }

        if (!invoke.ReturnsVoid)
        {
            return $"its delegate returns '{invoke.ReturnType.ToDisplayString()}' and a weak event has no single result to return";
        }

        foreach (var parameter in invoke.Parameters)
        {
            if (parameter.RefKind != RefKind.None || parameter.Type.IsRefLikeType || parameter.Type.TypeKind is TypeKind.Pointer or TypeKind.FunctionPointer)
            {
                return $"parameter '{parameter.Name}' is not passed by value (ref, out, in, a ref struct or a pointer)";
            }
        }

        return null;
    }

    /// <summary>The definition's <c>partial event T Name;</c> declaration, or <see langword="null"/> if it is not one.</summary>
    private static EventFieldDeclarationSyntax? FieldLikeSyntax(IEventSymbol definition, CancellationToken cancellationToken)
    {
        foreach (var reference in definition.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(cancellationToken) is VariableDeclaratorSyntax { Initializer: null, Parent.Parent: EventFieldDeclarationSyntax field }
                && field.Modifiers.Any(SyntaxKind.PartialKeyword)
                && field.Declaration.Variables.Count == 1)
            {
                return field;
            }
        }

        return null;
    }

    private static bool IsPartial(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        var references = type.DeclaringSyntaxReferences;
        if (references.IsEmpty)
        {
            return false;
        }

        foreach (var reference in references)
        {
            if (reference.GetSyntax(cancellationToken) is not TypeDeclarationSyntax declaration || !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
            {
                return false;
            }
        }

        return true;
    }

    private static WeakEventShape ShapeOf(INamedTypeSymbol delegateType)
    {
        var name = delegateType.ConstructedFrom.ToDisplayString();
        return name switch
        {
            "System.EventHandler" => WeakEventShape.EventHandler,
            "System.EventHandler<TEventArgs>" => WeakEventShape.GenericEventHandler,
            "System.ComponentModel.PropertyChangedEventHandler" => WeakEventShape.PropertyChanged,
            "System.Collections.Specialized.NotifyCollectionChangedEventHandler" => WeakEventShape.CollectionChanged,
            _ => WeakEventShape.Custom,
        };
    }
}
