using System.Globalization;

namespace SafeRefs.Testing.Heap.LeakyTarget;

/// <summary>
/// Leaks <c>perTick</c> <see cref="LeakedItem"/>s every 10 ms into a static list, prints "ready" once the first batch
/// is in, and exits after <c>lifetimeSeconds</c> (default 60) or as soon as its standard input closes, so a crashed
/// test never leaves it running.
/// </summary>
internal static class Program
{
    private static readonly List<LeakedItem> Leaked = [];

    private static int Main(string[] args)
    {
        int perTick = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        int lifetimeSeconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(lifetimeSeconds));
        var stdinWatcher = new Thread(() =>
        {
            _ = Console.In.ReadToEnd();
            stop.Cancel();
        })
        { IsBackground = true };
        stdinWatcher.Start();

        int next = 0;
        bool ready = false;
        while (!stop.IsCancellationRequested)
        {
            lock (Leaked)
            {
                for (int i = 0; i < perTick; i++)
                {
                    Leaked.Add(new LeakedItem(next++));
                }
            }

            if (!ready)
            {
                Console.Out.WriteLine("ready");
                Console.Out.Flush();
                ready = true;
            }

            stop.Token.WaitHandle.WaitOne(10);
        }

        return 0;
    }
}
