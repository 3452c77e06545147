using SafeRefs.Testing.Internal;

namespace SafeRefs.Testing.Heap.Tests.Internal;

public sealed class TypeNamesTests
{
    [Fact]
    public void Of_GenericType_UsesRuntimeForm()
    {
        Assert.Equal("System.Collections.Generic.List`1[SafeRefs.Testing.Heap.Tests.Internal.TypeNamesTests]", TypeNames.Of(typeof(List<TypeNamesTests>)));
    }

    [Fact]
    public void Of_NestedType_KeepsDeclaringTypeEverywhere()
    {
        Assert.Equal("SafeRefs.Testing.Heap.Tests.Internal.TypeNamesTests+Nested", TypeNames.Of(typeof(Nested)));
        Assert.Equal("SafeRefs.Testing.Heap.Tests.Internal.TypeNamesTests+Nested[]", TypeNames.Of(typeof(Nested[])));
        Assert.Equal("SafeRefs.Testing.Heap.Tests.Internal.TypeNamesTests+GenericNested`1[System.Int32]", TypeNames.Of(typeof(GenericNested<int>)));
        Assert.Equal(
            "System.Collections.Generic.List`1[SafeRefs.Testing.Heap.Tests.Internal.TypeNamesTests+Nested]",
            TypeNames.Of(typeof(List<Nested>)));
    }

    [Fact]
    public void Of_Arrays_KeepsRankSuffix()
    {
        Assert.Equal("System.Int32[,]", TypeNames.Of(typeof(int[,])));
        Assert.Equal("System.Int32[][]", TypeNames.Of(typeof(int[][])));
    }

    [Theory]
    [InlineData("System.String", "System.String")]
    [InlineData(" System.String ", "System.String")]
    [InlineData("System.String, System.Private.CoreLib, Version=10.0.0.0", "System.String")]
    [InlineData("Foo`1[[Bar, heapexp, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null]]", "Foo`1[Bar]")]
    [InlineData(
        "System.Collections.Generic.Dictionary`2[[System.String, System.Private.CoreLib],[Outer+Inner, App]]",
        "System.Collections.Generic.Dictionary`2[System.String,Outer+Inner]")]
    [InlineData("Outer+Inner", "Outer+Inner")]
    [InlineData("Outer+Inner[]", "Outer+Inner[]")]
    [InlineData("Gen`1+In[Bar]", "Gen`1+In[Bar]")]
    [InlineData("Foo`1[Bar][]", "Foo`1[Bar][]")]
    [InlineData("Foo`1[Bar]", "Foo`1[Bar]")]
    [InlineData("List<int>", "List<int>")]
    [InlineData("MyApp.Outer+", "MyApp.Outer+")]
    public void Normalize_UserForms_GiveRuntimeForm(string input, string expected)
    {
        Assert.Equal(expected, TypeNames.Normalize(input));
    }

    [Fact]
    public void Normalize_FullNameOfType_EqualsOf()
    {
        Type[] types = [typeof(Dictionary<string, List<Nested>>), typeof(GenericNested<Nested>), typeof(Nested[]), typeof(int[,])];
        foreach (Type type in types)
        {
            Assert.Equal(TypeNames.Of(type), TypeNames.Normalize(type.FullName!));
            Assert.Equal(TypeNames.Of(type), TypeNames.Normalize(type.ToString()));
        }
    }

    private sealed class Nested;

    private sealed class GenericNested<T>;
}
