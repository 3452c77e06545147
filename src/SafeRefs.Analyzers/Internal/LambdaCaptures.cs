using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace SafeRefs.Analyzers.Internal;

/// <summary>What an anonymous function captures from its enclosing member.</summary>
internal readonly struct LambdaCaptures
{
    private LambdaCaptures(bool capturesThis, ISymbol? firstCapturedVariable)
    {
        CapturesThis = capturesThis;
        FirstCapturedVariable = firstCapturedVariable;
    }

    /// <summary>Gets a value indicating whether the function uses <c>this</c> (explicitly or implicitly).</summary>
    public bool CapturesThis { get; }

    /// <summary>Gets the first captured local or parameter of an enclosing member, if any.</summary>
    public ISymbol? FirstCapturedVariable { get; }

    /// <summary>Gets a value indicating whether anything is captured.</summary>
    public bool CapturesAnything => CapturesThis || FirstCapturedVariable is not null;

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
}
