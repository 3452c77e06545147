using System.Globalization;
using System.Text;
using SafeRefs.Testing.Internal;

namespace SafeRefs.Testing;

/// <summary>
/// Tracks many objects weakly under labels and reports which of them survive forced full collections.
/// </summary>
/// <remarks>
/// <para><b>Holds</b> each tracked object weakly (a short <see cref="WeakReference"/>) and its label strongly; it never
/// keeps a tracked object alive.</para>
/// <para><b>Thread safety:</b> thread-safe; objects may be tracked from several threads. Collections are process-wide,
/// so run GC-sensitive tests in a non-parallel test collection.</para>
/// <para>Pass objects to <see cref="Track(object, string?)"/> from a method marked
/// <c>[MethodImpl(MethodImplOptions.NoInlining)]</c>, never from a local of the test body.</para>
/// </remarks>
public sealed class LeakTracker
{
    private readonly Lock _lock = new();
    private readonly List<(WeakReference Reference, string Label)> _entries = [];

    /// <summary>Gets the number of objects tracked so far.</summary>
    /// <value>Every call of <see cref="Track(object, string?)"/> adds one.</value>
    public int TrackedCount
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Starts tracking <paramref name="target"/> weakly.</summary>
    /// <param name="target">The object expected to be collected eventually.</param>
    /// <param name="label">A name for reports; defaults to the type name and a sequence number.</param>
    /// <returns>A short weak reference to <paramref name="target"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="target"/> is <see langword="null"/>.</exception>
    public WeakReference Track(object target, string? label = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        var reference = new WeakReference(target);
        lock (_lock)
        {
            label ??= string.Create(CultureInfo.InvariantCulture, $"{target.GetType().Name}#{_entries.Count}");
            _entries.Add((reference, label));
        }

        return reference;
    }

    /// <summary>Forces full collections and returns how many tracked objects are still alive.</summary>
    /// <returns>The number of survivors.</returns>
    public int AliveCount() => Survivors().Count;

    /// <summary>
    /// Forces full collections (bounded rounds, stopping early once every tracked object is gone) and returns the
    /// labels of the objects still alive, in tracking order.
    /// </summary>
    /// <returns>The survivors' labels.</returns>
    public IReadOnlyList<string> Survivors()
    {
        (WeakReference Reference, string Label)[] snapshot;
        lock (_lock)
        {
            snapshot = [.. _entries];
        }

        FullCollection.Until(static entries => Array.TrueForAll(entries, static e => !e.Reference.IsAlive), snapshot);
        var survivors = new List<string>();
        foreach (var (reference, label) in snapshot)
        {
            if (reference.IsAlive)
            {
                survivors.Add(label);
            }
        }

        return survivors;
    }

    /// <summary>Asserts that every tracked object has been collected.</summary>
    /// <exception cref="ObjectNotCollectedException">Some objects survived; the message names each one and gives the count.</exception>
    public void AssertAllCollected()
    {
        var survivors = Survivors();
        if (survivors.Count == 0)
        {
            return;
        }

        var message = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"{survivors.Count} of {TrackedCount} tracked object(s) are still alive after forced full collections: ")
            .AppendJoin(", ", survivors)
            .Append('.')
            .ToString();
        throw new ObjectNotCollectedException(message, survivors);
    }
}
