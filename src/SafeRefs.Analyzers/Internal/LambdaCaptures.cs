using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace SafeRefs.Analyzers.Internal;

/// <summary>What an anonymous function captures from its enclosing member.</summary>
internal readonly struct LambdaCaptures
{
    private LambdaCaptures(bool capturesThis, ISymbol? firstCapturedVariable, bool usesLocalFunctions = false)
    {
        CapturesThis = capturesThis;
        FirstCapturedVariable = firstCapturedVariable;
        UsesLocalFunctions = usesLocalFunctions;
    }

    /// <summary>Gets a value indicating whether the function uses <c>this</c> (explicitly or implicitly).</summary>
    public bool CapturesThis { get; }

    /// <summary>Gets the first captured local or parameter of an enclosing member, if any.</summary>
    public ISymbol? FirstCapturedVariable { get; }

    /// <summary>Gets a value indicating whether anything is captured.</summary>
    public bool CapturesAnything => CapturesThis || FirstCapturedVariable is not null;

    /// <summary>Gets a value indicating whether the function calls or references a non-static local function declared
    /// outside it (set by <see cref="WithLocalFunctions"/> only).</summary>
    public bool UsesLocalFunctions { get; }

    /// <summary>Computes what <paramref name="function"/> captures.</summary>
    public static LambdaCaptures Of(IAnonymousFunctionOperation function) => Of(function.Symbol, function.Body);

    /// <summary>Computes what the local function <paramref name="function"/> captures.</summary>
    public static LambdaCaptures Of(ILocalFunctionOperation function) => Of(function.Symbol, function.Body);

    /// <summary>Computes what the function <paramref name="function"/> with body <paramref name="body"/> captures.</summary>
    public static LambdaCaptures Of(IMethodSymbol function, IOperation? body)
    {
        if (function.IsStatic || body is null)
        {
            return default;
        }

        var capturesThis = false;
        ISymbol? variable = null;
        foreach (var operation in body.Descendants())
        {
            switch (operation)
            {
                case IInstanceReferenceOperation { ReferenceKind: InstanceReferenceKind.ContainingTypeInstance }:
                    capturesThis = true;
                    break;
                case ILocalReferenceOperation local when variable is null && !local.Local.IsConst && !local.Local.IsWithin(function):
                    variable = local.Local;
                    break;
                case IParameterReferenceOperation parameter when variable is null && !parameter.Parameter.IsWithin(function):
                    variable = parameter.Parameter;
                    break;
            }
        }

        return new LambdaCaptures(capturesThis, variable);
    }

    /// <summary>
    /// Computes what <paramref name="function"/> captures itself or through the non-static local functions it calls or
    /// references, transitively: the closure the compiler builds for it holds all of that. A local function whose
    /// declaration is not under <paramref name="anchor"/>'s root is assumed to capture (reported as that function).
    /// </summary>
    /// <param name="anchor">An operation in the same member body, whose root holds the local function declarations.</param>
    /// <param name="function">The function.</param>
    /// <param name="body">Its body.</param>
    public static LambdaCaptures WithLocalFunctions(IOperation anchor, IMethodSymbol function, IOperation? body)
    {
        var own = Of(function, body);
        if (own.CapturesThis || function.IsStatic || body is null)
        {
            return own;
        }

        var capturesThis = false;
        var variable = own.FirstCapturedVariable;
        var usesLocalFunctions = false;
        var visited = new HashSet<IMethodSymbol>(SymbolEqualityComparer.Default) { function.OriginalDefinition };
        var pending = new Stack<(IMethodSymbol Function, IOperation Body)>();
        pending.Push((function, body));
        while (pending.Count > 0 && !capturesThis)
        {
            var (current, currentBody) = pending.Pop();
            foreach (var operation in currentBody.Descendants())
            {
                var callee = operation switch
                {
                    IInvocationOperation { TargetMethod.MethodKind: MethodKind.LocalFunction } invocation => invocation.TargetMethod,
                    IMethodReferenceOperation { Method.MethodKind: MethodKind.LocalFunction } reference => reference.Method,
                    _ => null,
                };
                if (callee is null || callee.IsStatic || callee.IsWithin(current) || !visited.Add(callee.OriginalDefinition))
                {
                    continue;
                }

                usesLocalFunctions = true;
                if (FindDeclaration(anchor, callee) is not { Body: { } calleeBody } declaration)
                {
                    variable ??= callee;
                    continue;
                }

                var captures = Of(declaration.Symbol, calleeBody);
                capturesThis |= captures.CapturesThis;
                variable ??= captures.FirstCapturedVariable;
                pending.Push((declaration.Symbol, calleeBody));
            }
        }

        return new LambdaCaptures(capturesThis, variable, usesLocalFunctions);
    }

    /// <summary>Finds the declaration of the local function <paramref name="localFunction"/> in <paramref name="anchor"/>'s tree.</summary>
    public static ILocalFunctionOperation? FindDeclaration(IOperation anchor, IMethodSymbol localFunction)
    {
        var definition = localFunction.OriginalDefinition;
        foreach (var operation in anchor.Root().Descendants())
        {
            if (operation is ILocalFunctionOperation declaration && SymbolEqualityComparer.Default.Equals(declaration.Symbol, definition))
            {
                return declaration;
            }
        }

        return null;
    }
}
