using System.Globalization;
using System.Runtime.CompilerServices;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SafeRefs.Testing.Tests.Infrastructure;

namespace SafeRefs.Testing.Tests;

[Collection(GcCollection.Name)]
public sealed class LeakTrackerPropertyTests
{
    public static class Arbitraries
    {
        // Descriptions only: which of n objects are rooted. The objects are built inside the tracked frame.
        public static Arbitrary<bool[]> RootedFlags() =>
            Gen.Choose(0, 24).SelectMany(n => Gen.ArrayOf(ArbMap.Default.GeneratorFor<bool>(), n)).ToArbitrary();
    }

    [Property(MaxTest = 30, Arbitrary = [typeof(Arbitraries)])]
    public bool Survivors_RandomRootedSubset_EqualsRootedSubset(bool[] rooted)
    {
        var tracker = new LeakTracker();
        var roots = CreateAndTrack(tracker, rooted);

        var expected = Enumerable.Range(0, rooted.Length).Where(i => rooted[i]).Select(Label).ToArray();
        var survivors = tracker.Survivors();

        GC.KeepAlive(roots);
        return survivors.SequenceEqual(expected);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<object> CreateAndTrack(LeakTracker tracker, bool[] rooted)
    {
        var roots = new List<object>();
        for (var i = 0; i < rooted.Length; i++)
        {
            // Alternate plain and finalizable objects: both kinds must be judged right.
            object item = i % 2 == 0 ? new Payload() : new FinalizablePayload();
            tracker.Track(item, Label(i));
            if (rooted[i])
            {
                roots.Add(item);
            }
        }

        return roots;
    }

    private static string Label(int i) => string.Create(CultureInfo.InvariantCulture, $"obj-{i}");
}
