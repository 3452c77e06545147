using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace SafeRefs.Analyzers.Internal;

/// <summary>Small helpers over <see cref="IOperation"/> shared by the analyzers and code fixes.</summary>
internal static class OperationExtensions
{
    /// <summary>Skips implicit conversions, delegate creations and parentheses down to the value.</summary>
    public static IOperation WalkDownConversionsAndDelegates(this IOperation operation)
    {
        operation = operation.WalkDownConversions();
        while (operation is IDelegateCreationOperation creation)
        {
            operation = creation.Target.WalkDownConversions();
        }

        return operation;
    }

    /// <summary>Skips conversions and parentheses down to the value.</summary>
    public static IOperation WalkDownConversions(this IOperation operation)
    {
        while (true)
        {
            switch (operation)
            {
                case IConversionOperation conversion:
                    operation = conversion.Operand;
                    break;
                case IParenthesizedOperation parenthesized:
                    operation = parenthesized.Operand;
                    break;
                default:
                    return operation;
            }
        }
    }

    /// <summary>Gets the first parent that is not a conversion or parentheses.</summary>
    public static IOperation? ParentSkippingConversions(this IOperation operation)
    {
        var parent = operation.Parent;
        while (parent is IConversionOperation or IParenthesizedOperation)
        {
            parent = parent.Parent;
        }

        return parent;
    }

    /// <summary>
    /// Whether the value of <paramref name="operation"/> is thrown away: it is an expression statement
    /// (<c>Call();</c>) or assigned to a discard (<c>_ = Call();</c>).
    /// </summary>
    public static bool IsDiscarded(this IOperation operation, out IOperation statement)
    {
        var parent = operation.ParentSkippingConversions();
        if (parent is IExpressionStatementOperation)
        {
            statement = parent;
            return true;
        }

        if (parent is ISimpleAssignmentOperation assignment
            && assignment.Target.WalkDownConversions() is IDiscardOperation
            && assignment.Parent is IExpressionStatementOperation discardStatement)
        {
            statement = discardStatement;
            return true;
        }

        statement = operation;
        return false;
    }

    /// <summary>The statement an event assignment belongs to, or the assignment itself.</summary>
    public static SyntaxNode StatementOrSelf(this IOperation operation) =>
        operation.Parent is IExpressionStatementOperation statement ? statement.Syntax : operation.Syntax;

    /// <summary>Gets the outermost operation of the tree <paramref name="operation"/> belongs to.</summary>
    public static IOperation Root(this IOperation operation)
    {
        while (operation.Parent is { } parent)
        {
            operation = parent;
        }

        return operation;
    }

    /// <summary>Whether a type is, or derives from, <paramref name="baseType"/> (compares original definitions).</summary>
    public static bool InheritsFromOrEquals(this ITypeSymbol? type, INamedTypeSymbol baseType)
    {
        for (var current = type; current is not null; current = current.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(current.OriginalDefinition, baseType))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether <paramref name="symbol"/> is <paramref name="container"/> or declared (transitively) inside it.</summary>
    public static bool IsWithin(this ISymbol? symbol, ISymbol container)
    {
        for (var current = symbol; current is not null; current = current.ContainingSymbol)
        {
            if (SymbolEqualityComparer.Default.Equals(current, container))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a value passed for a cancellation token is a real token (not default or None).</summary>
    public static bool IsRealCancellationToken(this IOperation value)
    {
        var operation = value.WalkDownConversions();
        if (operation is IDefaultValueOperation || operation.ConstantValue.HasValue)
        {
            return false;
        }

        return !(operation is IPropertyReferenceOperation { Property: { IsStatic: true, Name: "None" } });
    }
}
