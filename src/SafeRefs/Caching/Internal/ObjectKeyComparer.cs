namespace SafeRefs.Caching.Internal;

/// <summary>
/// <see cref="BoundedMemoryCache"/>'s key comparer: exactly <see cref="EqualityComparer{T}.Default"/> of
/// <see cref="object"/> (a string key hashes with the runtime's randomized string hash, which keeps colliding keys
/// from flooding one index chain), with string keys, the common case, compared and hashed without virtual calls.
/// </summary>
internal sealed class ObjectKeyComparer : IEqualityComparer<object>
{
    public static readonly ObjectKeyComparer Instance = new();

    private ObjectKeyComparer()
    {
    }

    public new bool Equals(object? x, object? y)
        => x is string s ? y is string t && string.Equals(s, t, StringComparison.Ordinal) : EqualityComparer<object>.Default.Equals(x, y);

    public int GetHashCode(object key) => key is string s ? string.GetHashCode(s.AsSpan()) : key.GetHashCode();
}
