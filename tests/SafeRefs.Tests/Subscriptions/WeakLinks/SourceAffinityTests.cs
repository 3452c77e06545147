using System.ComponentModel;
using SafeRefs.Subscriptions;
using SafeRefs.Subscriptions.WeakLinks;

namespace SafeRefs.Tests.Subscriptions.WeakLinks;

/// <summary>
/// The thread-affinity decision is remembered per source type, but decided by the source's own type: sources of one
/// static type and several runtime types, and sources that answer per instance, each get their own answer.
/// </summary>
public sealed class SourceAffinityTests
{
    [Fact]
    public void RuntimeTypesOfOneStaticType_EachDecidedByItsOwnType()
    {
        for (var i = 0; i < 3; i++)
        {
            Assert.False(SourceAffinity.IsThreadAffine<Source>(new Source()));
            Assert.True(SourceAffinity.IsThreadAffine<Source>(new BindableSource()));
            Assert.False(SourceAffinity.IsThreadAffine<Source>(new OptedOutBindableSource()));
        }
    }

    [Fact]
    public void SourceThatAnswers_IsAskedPerInstance()
    {
        for (var i = 0; i < 3; i++)
        {
            Assert.True(SourceAffinity.IsThreadAffine(new AnsweringSource(true)));
            Assert.False(SourceAffinity.IsThreadAffine(new AnsweringSource(false)));
        }
    }

    private class Source
    {
    }

    private class BindableSource : Source, INotifyPropertyChanged
    {
        public event PropertyChangedEventHandler? PropertyChanged
        {
            add { }
            remove { }
        }
    }

    private sealed class OptedOutBindableSource : BindableSource, IEventSourceAffinity
    {
        public bool IsThreadAffine => false;
    }

    private sealed class AnsweringSource(bool isThreadAffine) : IEventSourceAffinity
    {
        public bool IsThreadAffine { get; } = isThreadAffine;
    }
}
