using SafeRefs.Internal;

namespace SafeRefs.Tests.Internal;

public sealed class HandlerTargetsTests
{
    // The names are those of real delegate targets (Type.Name), as the compilers of the .NET 10 SDK emit them: the VB
    // ones read from a small VB program built with the SDK's vbc (Module functions returning lambdas, AddressOf with
    // and without delegate relaxation); they follow Roslyn's VB LambdaFrame.MakeName (GeneratedNames
    // .MakeStaticLambdaDisplayClassName: "_Closure$__" + the method ordinal for a generic method only;
    // MakeLambdaDisplayClassName: "_Closure$__" or "_Closure$__R" + method ordinal + "-" + closure ordinal). The C#
    // ones are checked against this assembly's own lambdas below.
    [Theory]
    [InlineData("<>c", true)] // C#: non-capturing lambdas
    [InlineData("<>c__3`1", true)] // C#: non-capturing lambdas of a generic method
    [InlineData("<>c__DisplayClass3_0", false)] // C#: a closure
    [InlineData("<>c__DisplayClass3_0`1", false)] // C#: a closure in a generic method
    [InlineData("_Closure$__", true)] // VB: non-capturing lambdas (and relaxation stubs) of non-generic methods
    [InlineData("_Closure$__1`1", true)] // VB: non-capturing lambdas of a generic method (one type parameter)
    [InlineData("_Closure$__2`2", true)] // VB: the same, two type parameters
    [InlineData("_Closure$__3-0", false)] // VB: a closure
    [InlineData("_Closure$__4-0`1", false)] // VB: a closure in a generic method
    [InlineData("_Closure$__R4-1", false)] // VB: a delegate relaxation stub bound to an instance (AddressOf obj.M)
    [InlineData("Holder`1", false)] // an ordinary class
    public void IsLambdaSingleton_CompilerNames(string typeName, bool singleton) =>
        Assert.Equal(singleton, HandlerTargets.IsLambdaSingleton(typeName));

    // The C# names above, as this compiler actually emits them.
    [Fact]
    public void IsLambdaSingleton_ThisCompilersTargets()
    {
        var captured = 1;
        Action<int> capturing = x => captured += x;
        Action<int> inGeneric = InGenericMethod<string>();
        Action<int> capturingInGeneric = CapturingInGenericMethod("a");

        Assert.Equal("<>c", NonCapturing().Target!.GetType().Name);
        Assert.StartsWith("<>c__", inGeneric.Target!.GetType().Name, StringComparison.Ordinal);
        Assert.True(HandlerTargets.IsLambdaSingleton(NonCapturing().Target!.GetType().Name));
        Assert.True(HandlerTargets.IsLambdaSingleton(inGeneric.Target!.GetType().Name));
        Assert.False(HandlerTargets.IsLambdaSingleton(capturing.Target!.GetType().Name));
        Assert.False(HandlerTargets.IsLambdaSingleton(capturingInGeneric.Target!.GetType().Name));
    }

    private static Action<int> NonCapturing() => static x => GC.KeepAlive(x);

    private static Action<int> InGenericMethod<T>() => static x => GC.KeepAlive(typeof(T));

    private static Action<int> CapturingInGenericMethod<T>(T value) => x => GC.KeepAlive(value);
}
