using SafeRefs.Testing.Internal;

namespace SafeRefs.Testing;

/// <summary>
/// The three-snapshot comparison as a test assertion: run an operation a few times, then many times, snapshot the heap
/// before, between and after, and report the types whose live instances grew with the number of operations.
/// </summary>
/// <remarks>
/// <para>Sequence: the operation runs once as a warm-up (JIT, lazy statics, first-use caches), then a baseline
/// snapshot, <c>few</c> runs, a snapshot, <c>many</c> more runs, a last snapshot. The rule that turns the three
/// counts into suspects is described on <see cref="LeakReport"/>. The last snapshot also records the reference graph
/// (unless <see cref="HeapSnapshotOptions.RetentionPathCount"/> is 0), from which each suspect gets its retention
/// paths.</para>
/// <para><b>Holds</b> nothing after it returns; during the run it holds <c>operation</c>.</para>
/// <para><b>Thread safety:</b> each snapshot forces full blocking collections of the whole process and counts every
/// object in it: run leak hunts in a non-parallel test collection, or other tests' objects show up as growth.</para>
/// </remarks>
public static class LeakHunt
{
    /// <summary>Runs the three-snapshot comparison on a synchronous operation.</summary>
    /// <param name="operation">The operation suspected of leaking; it must not keep its results in locals of the caller.</param>
    /// <param name="fewIterations">Runs between the baseline and the second snapshot (at least 1).</param>
    /// <param name="manyIterations">Runs between the second and the last snapshot (more than <paramref name="fewIterations"/>).</param>
    /// <param name="options">Snapshot filters, time limit and growth threshold; <see langword="null"/> for the defaults.</param>
    /// <returns>The report; <see cref="LeakReport.Suspects"/> is empty when nothing grew.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="operation"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fewIterations"/> is below 1 or <paramref name="manyIterations"/> is not above it.</exception>
    /// <exception cref="HeapSnapshotException">A snapshot cannot be taken.</exception>
    public static LeakReport Run(Action operation, int fewIterations = 10, int manyIterations = 100, HeapSnapshotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(operation);
        Validate(fewIterations, manyIterations);
        options ??= new HeapSnapshotOptions();

        operation();
        HeapSnapshot baseline = HeapSnapshot.Capture(options);
        Repeat(operation, fewIterations);
        HeapSnapshot afterFew = HeapSnapshot.Capture(options);
        Repeat(operation, manyIterations);
        HeapSnapshot afterMany = HeapSnapshot.Capture(options.ForLastSnapshot());
        return Report(baseline, afterFew, afterMany, fewIterations, manyIterations, options);
    }

    /// <summary>Runs the three-snapshot comparison on an asynchronous operation, awaiting each run before the next.</summary>
    /// <param name="operation">The operation suspected of leaking.</param>
    /// <param name="fewIterations">Runs between the baseline and the second snapshot (at least 1).</param>
    /// <param name="manyIterations">Runs between the second and the last snapshot (more than <paramref name="fewIterations"/>).</param>
    /// <param name="options">Snapshot filters, time limit and growth threshold; <see langword="null"/> for the defaults.</param>
    /// <returns>The report; <see cref="LeakReport.Suspects"/> is empty when nothing grew.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="operation"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fewIterations"/> is below 1 or <paramref name="manyIterations"/> is not above it.</exception>
    /// <exception cref="HeapSnapshotException">A snapshot cannot be taken.</exception>
    public static async Task<LeakReport> RunAsync(Func<Task> operation, int fewIterations = 10, int manyIterations = 100, HeapSnapshotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(operation);
        Validate(fewIterations, manyIterations);
        options ??= new HeapSnapshotOptions();

        await operation().ConfigureAwait(false);
        HeapSnapshot baseline = HeapSnapshot.Capture(options);
        await RepeatAsync(operation, fewIterations).ConfigureAwait(false);
        HeapSnapshot afterFew = HeapSnapshot.Capture(options);
        await RepeatAsync(operation, manyIterations).ConfigureAwait(false);
        HeapSnapshot afterMany = HeapSnapshot.Capture(options.ForLastSnapshot());
        return Report(baseline, afterFew, afterMany, fewIterations, manyIterations, options);
    }

    private static void Validate(int fewIterations, int manyIterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(fewIterations, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(manyIterations, fewIterations);
    }

    private static void Repeat(Action operation, int count)
    {
        for (int i = 0; i < count; i++)
        {
            operation();
        }
    }

    private static async Task RepeatAsync(Func<Task> operation, int count)
    {
        for (int i = 0; i < count; i++)
        {
            await operation().ConfigureAwait(false);
        }
    }

    private static LeakReport Report(HeapSnapshot baseline, HeapSnapshot afterFew, HeapSnapshot afterMany, int few, int many, HeapSnapshotOptions options)
    {
        long[] operations = [0, few, few + (long)many];
        List<GrowingType> suspects = GrowthRule.Suspects([baseline, afterFew, afterMany], operations, options.MinimumGrowthPerOperation, options.MinimumBytesPerOperation, heldByCaller: true);
        RetentionAnalysis.Attach(suspects, afterMany.Graph, options.RetentionPathCount);
        return new LeakReport(suspects, operations, "operation");
    }
}
