using System.Runtime.CompilerServices;
using SafeRefs.Testing.Heap.Tests.Infrastructure;
using SafeRefs.Testing.Internal;

namespace SafeRefs.Testing.Heap.Tests;

[Collection(HeapCollection.Name)]
public sealed class HeapSnapshotTests
{
    private static Marker[]? _markers;
    private static Box<Marker>[]? _boxes;
    private static First.Item[]? _firstItems;
    private static Second.Item[]? _secondItems;
    private static Func<int>[]? _closures;

    [Fact]
    public void Capture_CurrentProcess_CountsExactlyTheLiveInstances()
    {
        Fill(250);
        HeapSnapshot held = HeapSnapshot.Capture();
        Release();
        HeapSnapshot released = HeapSnapshot.Capture();

        Assert.Equal(250, held.CountOf<Marker>());
        Assert.Equal(250 * IntPtr.Size * 3, held[typeof(Marker).FullName!].Bytes); // header + method table + one field
        Assert.Equal(0, released.CountOf<Marker>());
        Assert.True(held.ObjectCount > 250);
        Assert.True(held.TotalBytes > held[typeof(Marker).FullName!].Bytes);
        Assert.Equal(Environment.ProcessId, held.ProcessId);
    }

    [Fact]
    public void CountOf_GenericOfNested_MatchesTypeofNames()
    {
        FillBoxes(40);
        HeapSnapshot snapshot = HeapSnapshot.Capture();
        Release();

        Assert.Equal(40, snapshot.CountOf<Box<Marker>>());
        Assert.Equal(40, snapshot[typeof(Box<Marker>).FullName!].Count);    // assembly-qualified arguments
        Assert.Equal(40, snapshot[typeof(Box<Marker>).ToString()].Count);   // reflection ToString form
        Assert.Equal(40, snapshot[HeapSnapshot.NameOf(typeof(Box<Marker>))].Count);
        Assert.Contains(snapshot.Types, t => t.Name == "SafeRefs.Testing.Heap.Tests.HeapSnapshotTests+Box`1[SafeRefs.Testing.Heap.Tests.HeapSnapshotTests+Marker]");
    }

    [Fact]
    public void Capture_WhileAnEarlierWalkIsStillStopping_DoesNotCountThatWalksTables()
    {
        // The task that stops a walk's session can still be running when the next snapshot's collection starts (a
        // loaded machine): it must not keep that walk's tables alive, or a leak hunt reports them as growth.
        using var stopping = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        int stops = 0;
        WalkStopper.AfterStop = () =>
        {
            if (Interlocked.Increment(ref stops) == 1)
            {
                stopping.Set();
                release.Wait(TimeSpan.FromMinutes(2));
            }
        };
        try
        {
            _ = HeapSnapshot.Capture();
            Assert.True(stopping.Wait(TimeSpan.FromMinutes(1)));

            HeapSnapshot next = HeapSnapshot.Capture();

            // The runtime walks the heap as the session starts, before the walk in progress makes its tables.
            Assert.Equal(0, next.CountOf<TypeTable>());
        }
        finally
        {
            WalkStopper.AfterStop = null;
            release.Set();
        }
    }

    [Fact]
    public void Capture_AfterADiscardedAttempt_DoesNotCountThatAttemptsTables()
    {
        // A walk that was incomplete or lost events is tried again. TraceEvent's parser objects of the discarded
        // attempt wait for their finalizer and reach its handlers and type table: the next attempt must not count them.
        int attempts = 0;
        EventPipeHeapWalker.DiscardAttempt = () => Interlocked.Increment(ref attempts) == 1;
        try
        {
            HeapSnapshot snapshot = HeapSnapshot.Capture(new HeapSnapshotOptions { WarmUp = false });

            Assert.Equal(2, Volatile.Read(ref attempts));

            // The runtime walks the heap as the session starts, before the walk in progress makes its tables.
            Assert.Equal(0, snapshot.CountOf<TypeTable>());
            Assert.Equal(0, snapshot["Microsoft.Diagnostics.Tracing.EventPipeEventSource"].Count);
        }
        finally
        {
            EventPipeHeapWalker.DiscardAttempt = null;
        }
    }

    [Fact]
    public void Capture_NestedTypesWithTheSameName_AreNotMerged()
    {
        FillItems(3, 5);
        HeapSnapshot snapshot = HeapSnapshot.Capture();
        Release();

        // The runtime calls both "Item": the snapshot names each after its declaring type.
        Assert.Equal(3, snapshot.CountOf<First.Item>());
        Assert.Equal(5, snapshot.CountOf<Second.Item>());
        Assert.Equal(3, snapshot["SafeRefs.Testing.Heap.Tests.HeapSnapshotTests+First+Item"].Count);
        Assert.Equal(1, snapshot.CountOf<Second.Item[]>());
        Assert.Equal(0, snapshot["Item"].Count);
        Assert.DoesNotContain(snapshot.Types, t => t.Name is "Item" or "Item[]");
    }

    [Fact]
    public void Capture_ClosuresOfTwoTypes_AreNamedAfterTheirDeclaringTypes()
    {
        FillClosures(4, 6);
        HeapSnapshot snapshot = HeapSnapshot.Capture();
        Release();

        TypeStatistics[] closures = [.. snapshot.Types.Where(t => t.Name.Contains("<>c__DisplayClass", StringComparison.Ordinal) && t.Name.Contains("+Closures", StringComparison.Ordinal))];
        Assert.Equal(2, closures.Length);
        Assert.Equal(4, Assert.Single(closures, c => c.Name.StartsWith(typeof(First.Closures).FullName! + "+", StringComparison.Ordinal)).Count);
        Assert.Equal(6, Assert.Single(closures, c => c.Name.StartsWith(typeof(Second.Closures).FullName! + "+", StringComparison.Ordinal)).Count);
    }

    [Fact]
    public void Indexer_TypeWithNoInstances_ReturnsZeroEntry()
    {
        HeapSnapshot snapshot = HeapSnapshot.Capture();

        TypeStatistics none = snapshot["No.Such.Type"];

        Assert.Equal(0, none.Count);
        Assert.Equal(0, none.Bytes);
        Assert.Equal("No.Such.Type", none.Name);
    }

    [Fact]
    public void Capture_WithOptions_FiltersByAssemblyFrameworkAndPrefix()
    {
        Fill(10);
        var byAssembly = new HeapSnapshotOptions();
        byAssembly.Assemblies.Add("SafeRefs.Testing.Heap.Tests");
        var noFramework = new HeapSnapshotOptions { IncludeFrameworkTypes = false };
        var byPrefix = new HeapSnapshotOptions();
        byPrefix.TypeNamePrefixes.Add("System.Collections.Generic.");

        HeapSnapshot assemblyOnly = HeapSnapshot.Capture(byAssembly);
        HeapSnapshot withoutFramework = HeapSnapshot.Capture(noFramework);
        HeapSnapshot prefixOnly = HeapSnapshot.Capture(byPrefix);
        Release();

        Assert.All(assemblyOnly.Types, t => Assert.Equal("SafeRefs.Testing.Heap.Tests", t.Assembly));
        Assert.Equal(10, assemblyOnly.CountOf<Marker>());
        Assert.Equal(0, withoutFramework.CountOf<string>());
        Assert.Equal(10, withoutFramework.CountOf<Marker>());
        Assert.DoesNotContain(withoutFramework.Types, t => t.Assembly is "System.Private.CoreLib");
        Assert.NotEmpty(prefixOnly.Types);
        Assert.All(prefixOnly.Types, t => Assert.StartsWith("System.Collections.Generic.", t.Name, StringComparison.Ordinal));
        Assert.Equal(prefixOnly.Types.Sum(t => t.Count), prefixOnly.ObjectCount);
    }

    [Fact]
    public void Compare_InstancesAdded_DiffShowsThem()
    {
        HeapSnapshot before = HeapSnapshot.Capture();
        Fill(30);
        HeapSnapshot after = HeapSnapshot.Capture();
        Release();

        HeapDiff diff = HeapSnapshot.Compare(before, after);

        Assert.Equal(30, diff.CountDeltaOf<Marker>());
        TypeDelta markers = diff[typeof(Marker).FullName!];
        Assert.Equal(0, markers.CountBefore);
        Assert.Equal(30, markers.CountAfter);
        Assert.Contains(diff.Changes, c => c.Name == HeapSnapshot.NameOf(typeof(Marker)));
        Assert.Contains("Marker", diff.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void SaveLoad_RoundTrip_KeepsEveryType()
    {
        Fill(7);
        HeapSnapshot snapshot = HeapSnapshot.Capture();
        Release();
        using var stream = new MemoryStream();

        snapshot.Save(stream);
        stream.Position = 0;
        HeapSnapshot loaded = HeapSnapshot.Load(stream);

        Assert.Equal(7, loaded.CountOf<Marker>());
        Assert.Equal(snapshot.ObjectCount, loaded.ObjectCount);
        Assert.Equal(snapshot.TotalBytes, loaded.TotalBytes);
        Assert.Equal(snapshot.Types.Count, loaded.Types.Count);
        Assert.Equal(snapshot.TakenAt, loaded.TakenAt);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{}")]
    [InlineData("{\"format\":\"other\"}")]
    [InlineData("{\"format\":\"saferefs-heap-snapshot/1\",\"types\":[{\"name\":1}]}")]
    [InlineData("not json")]
    public void Load_NotASnapshot_ThrowsInvalidDataException(string json)
    {
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json));

        Assert.Throws<InvalidDataException>(() => HeapSnapshot.Load(stream));
    }

    [Fact]
    public void Capture_NoSuchProcess_ThrowsWithThePidInTheMessage()
    {
        const int pid = int.MaxValue - 7;

        HeapSnapshotException ex = Assert.Throws<HeapSnapshotException>(() => HeapSnapshot.Capture(pid));

        Assert.Contains($"No process with id {pid}", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Capture_NonPositivePid_ThrowsArgumentOutOfRange(int pid)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => HeapSnapshot.Capture(pid));
    }

    [Fact]
    public void Options_InvalidValues_Throw()
    {
        var options = new HeapSnapshotOptions();

        Assert.Throws<ArgumentOutOfRangeException>(() => options.Timeout = TimeSpan.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MinimumGrowthPerOperation = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MinimumGrowthPerOperation = double.NaN);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Timeout);
        Assert.Equal(0.5, options.MinimumGrowthPerOperation);
        Assert.True(options.IncludeFrameworkTypes);
    }

    [Fact]
    public void NullArguments_Throw()
    {
        HeapSnapshot snapshot = HeapSnapshot.Capture(new HeapSnapshotOptions { Timeout = TimeSpan.FromSeconds(20) });

        Assert.Throws<ArgumentNullException>(() => snapshot[null!]);
        Assert.Throws<ArgumentNullException>(() => HeapSnapshot.Compare(null!, snapshot));
        Assert.Throws<ArgumentNullException>(() => HeapSnapshot.Compare(snapshot, null!));
        Assert.Throws<ArgumentNullException>(() => HeapSnapshot.NameOf(null!));
        Assert.Throws<ArgumentNullException>(() => snapshot.Save(null!));
        Assert.Throws<ArgumentNullException>(() => HeapSnapshot.Load(null!));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Fill(int count)
    {
        _markers = new Marker[count];
        for (int i = 0; i < count; i++)
        {
            _markers[i] = new Marker(i);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FillBoxes(int count)
    {
        _boxes = new Box<Marker>[count];
        for (int i = 0; i < count; i++)
        {
            _boxes[i] = new Box<Marker>(new Marker(i));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FillItems(int first, int second)
    {
        _firstItems = [.. Enumerable.Range(0, first).Select(_ => new First.Item())];
        _secondItems = [.. Enumerable.Range(0, second).Select(_ => new Second.Item())];
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FillClosures(int first, int second)
    {
        _closures = [.. Enumerable.Range(0, first).Select(First.Closures.Make), .. Enumerable.Range(0, second).Select(Second.Closures.Make)];
    }

    private static void Release()
    {
        _markers = null;
        _boxes = null;
        _firstItems = null;
        _secondItems = null;
        _closures = null;
    }

    private static class First
    {
        public sealed class Item;

        public static class Closures
        {
            public static Func<int> Make(int value) => () => value;
        }
    }

    private static class Second
    {
        public sealed class Item;

        public static class Closures
        {
            public static Func<int> Make(int value) => () => value + 1;
        }
    }

    private sealed class Marker(int id)
    {
        public int Id { get; } = id;
    }

    private sealed class Box<T>(T value)
    {
        public T Value { get; } = value;
    }
}
