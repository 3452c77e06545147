using System.Globalization;

namespace SafeRefs.Testing.Heap.LeakyTarget;

/// <summary>
/// Arguments: <c>perCollection lifetimeSeconds [mode]</c>. Mode <c>leak</c> (the default) leaks
/// <c>perCollection</c> <see cref="LeakedItem"/>s into a static list after every gen-2 collection it observes, so that
/// each heap snapshot (which induces one) is followed by exactly one batch, whatever the timing; it prints
/// "leaked &lt;total&gt;" after each batch. Mode <c>collect</c> keeps <c>perCollection</c> items and calls
/// <see cref="GC.Collect()"/> in a loop, so a heap walk competes with the app's own induced collections. Prints "ready"
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

        if (mode == "collect")
        {
            return Collect(perCollection, stop.Token);
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
            for (int i = 0; i < perCollection; i++)
            {
                Leaked.Add(new LeakedItem(Leaked.Count));
            }

            Console.Out.WriteLine($"leaked {Leaked.Count}");
            Console.Out.Flush();
        }

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
