namespace SafeRefs.Caching;

/// <summary>One reader's hold on the value of a <see cref="Scoped{T}"/>: while it is not disposed, the value is not
/// disposed either, whatever the cache does meanwhile.</summary>
/// <typeparam name="T">The value type.</typeparam>
/// <remarks>
/// <para><b>Holds</b> the <see cref="Scoped{T}"/> and its value strongly until disposed.</para>
/// <para><b>Thread safety:</b> <see cref="Dispose"/> is thread-safe; use the value as its own type allows.</para>
/// <para><b>Second <see cref="Dispose"/>:</b> does nothing: the lease is released once.</para>
/// </remarks>
public sealed class ScopedLease<T> : IDisposable
    where T : IDisposable
{
    private readonly Scoped<T> _owner;
    private readonly T _value;
    private int _disposed;

    internal ScopedLease(Scoped<T> owner, T value)
    {
        _owner = owner;
        _value = value;
    }

    /// <summary>Gets the leased value.</summary>
    /// <value>The value, not disposed while this lease is live.</value>
    /// <exception cref="ObjectDisposedException">The lease was disposed.</exception>
    public T Value
    {
        get
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return _value;
        }
    }

    /// <summary>Ends the lease; the last one to end after the cache let the value go disposes it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _owner.Release();
        }
    }
}
