using System.Globalization;

namespace SafeRefs.Testing.Heap.LeakyTarget;

/// <summary>
/// Arguments: <c>perCollection lifetimeSeconds [mode]</c>. Mode <c>leak</c> (the default) leaks
/// <c>perCollection</c> <see cref="LeakedItem"/>s into a static list after every gen-2 collection it observes, so that
/// each heap snapshot (which induces one) is followed by exactly one batch, whatever the timing; it prints
/// "leaked &lt;total&gt;" after each batch. Mode <c>collect</c> keeps <c>perCollection</c> items and calls
/// <see cref="GC.Collect()"/> in a loop, so a heap walk competes with the app's own induced collections. Mode
/// <c>noisy</c> keeps the live counts of several types fluctuating (a fixed random draw, one step per gen-2 collection)
/// while it replaces every object all the time, without any leak. Mode <c>list</c> adds
/// <c>perCollection</c> ints to one static <c>List&lt;int&gt;</c> after every gen-2 collection (a leak of bytes, not of
/// objects). Mode <c>paths</c> adds <c>perCollection</c> instances to each of
/// <see cref="Fixtures"/>' four leaks after every gen-2 collection. Mode <c>steady</c> builds a heap of about
/// <c>perCollection</c> × 1.35 objects of several types once and then allocates nothing (for comparing snapshot tools). Prints "ready"
/// at start; exits after <c>lifetimeSeconds</c> (default 60) or as soon as its standard input closes, so a crashed
/// test never leaves it running.
/// </summary>
internal static class Program
{
    [System.Diagnostics.CodeAnalysis.SuppressMessage(
        "Reliability",
        "SR1004:Static collection only grows",
        Justification = "Deliberate: this process leaks on purpose so that dotnet-saferefs has something to find.")]
    private static readonly List<LeakedItem> Leaked = [];

    [System.Diagnostics.CodeAnalysis.SuppressMessage(
        "Reliability",
        "SR1004:Static collection only grows",
        Justification = "Deliberate: mode 'list' leaks bytes in one list on purpose.")]
    private static readonly List<int> Numbers = [];

    // Mode "noisy": the level of each of six types, one row per type, taken in turn at each gen-2 collection the
    // target sees (each snapshot is one). The values are a random draw (200..1,000), made once and kept because no
    // six of them that the leaks command can see in a row (consecutive, or with a collection of the target's own in
    // between) show a trend: the test then checks the tool on a busy process, and is not at the mercy of the one run
    // in a few hundred where fresh random counts happen to rise six times in a row.
    private static readonly int[][] NoiseLevels =
    [
        [310, 466, 621, 535, 474, 310, 991, 533, 518, 223, 782, 832, 406, 272],
        [407, 316, 755, 666, 597, 951, 275, 300, 624, 217, 301, 792, 945, 633],
        [973, 605, 650, 874, 506, 784, 714, 362, 852, 616, 438, 993, 758, 790],
        [948, 310, 412, 599, 396, 341, 337, 841, 705, 307, 760, 922, 669, 207],
        [665, 691, 808, 322, 732, 691, 712, 705, 577, 638, 754, 387, 202, 450],
        [613, 500, 953, 375, 672, 649, 508, 515, 893, 983, 246, 279, 414, 518],
    ];

    private static int Main(string[] args)
    {
        int perCollection = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100;
        int lifetimeSeconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60;
        string mode = args.Length > 2 ? args[2] : "leak";
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(lifetimeSeconds));
        var stdinWatcher = new Thread(() =>
        {
            _ = Console.In.ReadToEnd();
            stop.Cancel();
        })
        { IsBackground = true };
        stdinWatcher.Start();

        switch (mode)
        {
            case "collect":
                return Collect(perCollection, stop.Token);
            case "noisy":
                return Noisy(stop.Token);
            case "steady":
                return Steady(perCollection, stop.Token);
            default:
                break;
        }

        int seen = GC.CollectionCount(2);
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        while (!stop.Token.WaitHandle.WaitOne(5))
        {
            int now = GC.CollectionCount(2);
            if (now == seen || perCollection == 0)
            {
                continue;
            }

            seen = now;
            if (mode == "paths")
            {
                Fixtures.Leak(perCollection);
                Console.Out.WriteLine("leaked");
                Console.Out.Flush();
                continue;
            }

            if (mode == "list")
            {
                for (int i = 0; i < perCollection; i++)
                {
                    Numbers.Add(i);
                }

                Console.Out.WriteLine($"leaked {Numbers.Count}");
                Console.Out.Flush();
                continue;
            }

            for (int i = 0; i < perCollection; i++)
            {
                Leaked.Add(new LeakedItem(Leaked.Count));
            }

            Console.Out.WriteLine($"leaked {Leaked.Count}");
            Console.Out.Flush();
        }

        return 0;
    }

    // Live counts that wander: each type has 1,000 places, refilled to a random level in [200, 1,000] every few
    // milliseconds; byte arrays of random lengths too. Nothing accumulates.
    private static int Noisy(CancellationToken stop)
    {
        var random = new Random(Environment.ProcessId);
        object?[][] places = [.. Enumerable.Range(0, 6).Select(_ => new object?[1_000])];
        Func<object>[] factories = [() => new Noise<int>(), () => new Noise<long>(), () => new Noise<string>(), () => new Noise<byte>(), () => new Noise<char>(), () => new byte[random.Next(16, 4_096)]];
        int start = GC.CollectionCount(2);
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        while (!stop.IsCancellationRequested)
        {
            // Busy: every object is replaced on every pass; only how many are kept follows the collections.
            int step = (GC.CollectionCount(2) - start) % NoiseLevels[0].Length;
            for (int t = 0; t < places.Length; t++)
            {
                int level = NoiseLevels[t][step];
                for (int i = 0; i < places[t].Length; i++)
                {
                    places[t][i] = i < level ? factories[t]() : null;
                }
            }

            Thread.Sleep(2); // a service's pace, not a synchronisation
        }

        return 0;
    }

    // A heap that does not change: perCollection items, a quarter as many dictionary entries with their strings, a tenth
    // as many byte arrays; then nothing allocates until the end. For comparing snapshot tools on one heap.
    private static int Steady(int items, CancellationToken stop)
    {
        var names = new Dictionary<int, string>();
        var buffers = new List<byte[]>();
        for (int i = 0; i < items; i++)
        {
            Leaked.Add(new LeakedItem(i));
            if (i % 4 == 0)
            {
                names[i] = i.ToString(CultureInfo.InvariantCulture);
            }

            if (i % 10 == 0)
            {
                buffers.Add(new byte[16 + (i % 256)]);
            }
        }

        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        _ = stop.WaitHandle.WaitOne();
        GC.KeepAlive(names);
        GC.KeepAlive(buffers);
        return 0;
    }

    private static int Collect(int keep, CancellationToken stop)
    {
        for (int i = 0; i < keep; i++)
        {
            Leaked.Add(new LeakedItem(i));
        }

        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        while (!stop.IsCancellationRequested)
        {
            GC.Collect();
            Thread.Sleep(1); // a busy app's pace, not a synchronisation: hundreds of induced collections a second
        }

        return 0;
    }
}
