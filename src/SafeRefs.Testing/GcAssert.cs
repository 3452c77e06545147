using System.Runtime.CompilerServices;
using SafeRefs.Testing.Internal;

namespace SafeRefs.Testing;

/// <summary>
/// Assertions that an object is (or, for controls, is not) reclaimed by the garbage collector. Independent of any
/// test framework: failures throw <see cref="ObjectNotCollectedException"/>.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> nothing: every method works on <see cref="WeakReference"/>s and never reads their
/// <see cref="WeakReference.Target"/>, which would leave a rooting temporary in unoptimised code.</para>
/// <para><b>Thread safety:</b> all members are thread-safe, but collections are process-wide: run GC-sensitive tests
/// in a non-parallel test collection so that other tests' references do not interfere.</para>
/// <para>Build the object in <see cref="Track{T}(Func{T})"/> (or in your own method marked
/// <c>[MethodImpl(MethodImplOptions.NoInlining)]</c>) and never keep it in a local of the test body: unoptimised
/// code keeps every local alive to the end of the method.</para>
/// </remarks>
public static class GcAssert
{
    /// <summary>
    /// Creates an object in a frame of its own and returns only a weak reference to it, so no local or JIT
    /// temporary of the caller roots it.
    /// </summary>
    /// <typeparam name="T">The type of the object.</typeparam>
    /// <param name="factory">Creates (and may exercise) the object; must not store it anywhere the test can reach.</param>
    /// <returns>A short weak reference to the created object.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="factory"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="factory"/> returned <see langword="null"/>.</exception>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static WeakReference Track<T>(Func<T> factory)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(factory);
        return new WeakReference(factory() ?? throw new InvalidOperationException("The factory returned null; there is nothing to track."));
    }

    /// <summary>
    /// Asserts that the object behind <paramref name="reference"/> is collected: forces full blocking, compacting
    /// collections with finalizer drains for a bounded number of rounds, stopping as soon as it is gone.
    /// </summary>
    /// <param name="reference">A weak reference to the object.</param>
    /// <param name="because">Why the object should be collected; added to the failure message.</param>
    /// <exception cref="ArgumentNullException"><paramref name="reference"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectNotCollectedException">The object is still alive after every round.</exception>
    public static void Collected(WeakReference reference, string? because = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (!FullCollection.Until(static r => !r.IsAlive, reference))
        {
            throw new ObjectNotCollectedException(
                Message($"The object was expected to be collected but is still alive after {FullCollection.MaxRounds} full collections.", because),
                ["the tracked object"]);
        }
    }

    /// <summary>
    /// Creates an object through <paramref name="factory"/> in a frame of its own and asserts that it is collected:
    /// <c>Collected(Track(factory))</c> in one call.
    /// </summary>
    /// <typeparam name="T">The type of the object.</typeparam>
    /// <param name="factory">Creates (and may exercise) the object.</param>
    /// <exception cref="ArgumentNullException"><paramref name="factory"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectNotCollectedException">The object is still alive after every round.</exception>
    public static void Collected<T>(Func<T> factory)
        where T : class
    {
        Collected(Track(factory));
    }

    /// <summary>
    /// The control: asserts that the object behind <paramref name="reference"/> survives the same full collections
    /// that <see cref="Collected(WeakReference, string?)"/> forces. Pair every "is collected" test with one, and
    /// <see cref="GC.KeepAlive(object?)"/> whatever roots the object after this call.
    /// </summary>
    /// <param name="reference">A weak reference to the object.</param>
    /// <param name="because">Why the object should stay alive; added to the failure message.</param>
    /// <exception cref="ArgumentNullException"><paramref name="reference"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectNotCollectedException">The object was collected.</exception>
    public static void NotCollected(WeakReference reference, string? because = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        for (var round = 0; round < FullCollection.ControlRounds; round++)
        {
            FullCollection.Once();
        }

        if (!reference.IsAlive)
        {
            throw new ObjectNotCollectedException(
                Message("The object was expected to stay alive but was collected.", because));
        }
    }

    /// <summary>Forces the same full, blocking, compacting collections with finalizer drains used by the assertions.</summary>
    public static void FullCollect()
    {
        for (var round = 0; round < FullCollection.ControlRounds; round++)
        {
            FullCollection.Once();
        }
    }

    private static string Message(string text, string? because) =>
        string.IsNullOrWhiteSpace(because) ? text : $"{text} Expected because {because}";
}
