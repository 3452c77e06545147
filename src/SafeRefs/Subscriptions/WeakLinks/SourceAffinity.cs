using System.Collections.Specialized;
using System.ComponentModel;
using System.Windows.Input;

namespace SafeRefs.Subscriptions.WeakLinks;

/// <summary>
/// Decides whether a weak link to a source is thread-affine (see <see cref="IEventSourceAffinity"/>): the source says
/// so itself, or else its type implements <see cref="INotifyPropertyChanged"/>, <see cref="INotifyCollectionChanged"/>
/// or <see cref="ICommand"/>. The type tests run once per source type rather than once per subscription: the last
/// type seen is remembered per static source type.
/// </summary>
internal static class SourceAffinity
{
    private enum Kind
    {
        FreeThreaded,
        ThreadAffine,
        AskSource, // implements IEventSourceAffinity: read per instance
    }

    /// <summary>Gets a value indicating whether the source's <c>remove</c> accessors must run on the subscribing thread.</summary>
    internal static bool IsThreadAffine<TSource>(TSource source)
        where TSource : class
    {
        var type = source.GetType();
        var kind = LastType<TSource>.Read() is { } last && ReferenceEquals(last.Type, type) ? last.Kind : Classify(source, type);
        return kind == Kind.AskSource ? ((IEventSourceAffinity)source).IsThreadAffine : kind == Kind.ThreadAffine;
    }

    private static Kind Classify<TSource>(TSource source, Type type)
        where TSource : class
    {
        var kind = source is IEventSourceAffinity
            ? Kind.AskSource
            : source is INotifyPropertyChanged or INotifyCollectionChanged or ICommand ? Kind.ThreadAffine : Kind.FreeThreaded;

        // Never remember a type of a collectible assembly: the static reference would keep it from unloading.
        if (!type.IsCollectible)
        {
            LastType<TSource>.Remember(new TypeKind(type, kind));
        }

        return kind;
    }

    /// <summary>A source type and its kind, published together.</summary>
    private sealed class TypeKind(Type type, Kind kind)
    {
        public Type Type { get; } = type;

        public Kind Kind { get; } = kind;
    }

    /// <summary>The last source type classified per static source type (a benign race: a lost write only costs a later classification).</summary>
    private static class LastType<TSource>
    {
        private static TypeKind? _last;

        public static TypeKind? Read() => Volatile.Read(ref _last);

        public static void Remember(TypeKind typeKind) => Volatile.Write(ref _last, typeKind);
    }
}
