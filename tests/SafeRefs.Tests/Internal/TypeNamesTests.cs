using SafeRefs.Events;
using SafeRefs.Internal;

namespace SafeRefs.Tests.Internal;

public sealed class TypeNamesTests
{
    [Fact]
    public void Display_NonGenericType_IsFullName()
    {
        Assert.Equal("System.String", TypeNames.Display(typeof(string)));
        Assert.Equal(typeof(TypeNamesTests).FullName, TypeNames.Display(typeof(TypeNamesTests)));
    }

    [Fact]
    public void Display_GenericType_ReadsAsCSharpWithoutAssemblyNames()
    {
        Assert.Equal("SafeRefs.Events.WeakEvent<System.Int32>", TypeNames.Display(typeof(WeakEvent<int>)));
        Assert.Equal(
            "System.Collections.Generic.Dictionary<System.String, System.Collections.Generic.List<System.Int32[]>>",
            TypeNames.Display(typeof(Dictionary<string, List<int[]>>)));
        Assert.Equal("System.Collections.Generic.List<T>", TypeNames.Display(typeof(List<>)));
    }

    [Fact]
    public void Display_NestedInGenericType_ArgumentsAfterInnermostName()
    {
        Assert.Equal(
            "SafeRefs.Tests.Internal.TypeNamesTests+Outer+Plain<System.Int32>",
            TypeNames.Display(typeof(Outer<int>.Plain)));
        Assert.Equal(
            "SafeRefs.Tests.Internal.TypeNamesTests+Outer+Inner<System.String, System.Byte[,]>",
            TypeNames.Display(typeof(Outer<string>.Inner<byte[,]>)));
    }

    private static class Outer<T>
    {
        internal sealed class Plain
        {
        }

        internal sealed class Inner<TInner>
        {
        }
    }
}
