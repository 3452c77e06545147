namespace SafeRefs.Internal;

/// <summary>Classifies a delegate's target: rooted anyway, a compiler-generated closure, or an ordinary object.</summary>
/// <remarks>Uses only <c>Type.Name</c> and <see cref="Type.IsValueType"/>: no reflection that trimming or AOT can break.</remarks>
internal static class HandlerTargets
{
    private static Delegate? _lastLambdaSingletonHandler;

    /// <summary>
    /// Returns <see langword="false"/> when the delegate can reference nothing but what is rooted anyway: a static
    /// method (no target) or a non-capturing lambda, whose target is the compiler's cached lambda singleton (see
    /// <see cref="IsLambdaSingleton"/>).
    /// </summary>
    internal static bool CanCapture(Delegate handler)
    {
        // A static lambda's delegate is cached by the compiler, so the same instance comes back on every subscribe.
        if (ReferenceEquals(handler, Volatile.Read(ref _lastLambdaSingletonHandler)))
        {
            return false;
        }

        var target = handler.Target;
        if (target is null)
        {
            return false;
        }

        var type = target.GetType();
        if (!IsLambdaSingleton(type.Name))
        {
            return true;
        }

        // Never cache a delegate of a collectible assembly: the static reference would keep it from unloading.
        if (!type.IsCollectible)
        {
            Volatile.Write(ref _lastLambdaSingletonHandler, handler);
        }

        return false;
    }

    /// <summary>Gets a value indicating whether the target is held anyway, so storing it strongly leaks nothing.</summary>
    internal static bool IsRootedAnyway(object? target) => target is null || IsLambdaSingleton(target.GetType().Name);

    /// <summary>
    /// Gets a value indicating whether <paramref name="target"/> is an object that nothing but the delegate
    /// references: a compiler-generated closure (C# display class, VB closure) or a boxed value type.
    /// </summary>
    internal static bool IsUnrootedClosure(object target)
    {
        var type = target.GetType();
        if (type.IsValueType)
        {
            return true;
        }

        var name = type.Name;
        return name.StartsWith("<>c__DisplayClass", StringComparison.Ordinal)
            || name.StartsWith("_Closure$__", StringComparison.Ordinal);
    }

    /// <summary>
    /// Gets a value indicating whether <paramref name="typeName"/> names a compiler's singleton of non-capturing lambdas.
    /// C#: <c>&lt;&gt;c</c>, and for a generic method that method's <c>&lt;&gt;c__N`1</c>; its closures are
    /// <c>&lt;&gt;c__DisplayClassN_M</c>. VB: <c>_Closure$__</c>, and for a generic method <c>_Closure$__N`1</c>; its
    /// closures carry a closure ordinal after a dash (<c>_Closure$__N-M</c>, <c>_Closure$__RN-M</c>).
    /// </summary>
    internal static bool IsLambdaSingleton(string typeName) =>
        typeName == "<>c"
        || (typeName.StartsWith("<>c__", StringComparison.Ordinal) && !typeName.StartsWith("<>c__DisplayClass", StringComparison.Ordinal))
        || (typeName.StartsWith("_Closure$__", StringComparison.Ordinal) && !typeName.Contains('-', StringComparison.Ordinal));
}
