namespace SafeRefs.Benchmarks;

/// <summary>
/// Runs <c>body(0)</c> … <c>body(n − 1)</c> on n threads at the same time: the caller runs 0, dedicated spinning
/// workers run the rest. <c>Parallel.For</c> does not guarantee this: when no pool thread picks the second range up in
/// time, the calling thread runs both one after the other, and a "2 threads" measurement silently becomes a
/// sequential one (bimodal timings with standard deviations of a third of the mean).
/// </summary>
public sealed class ThreadTeam : IDisposable
{
    private readonly Thread[] _workers;
    private Action<int>? _body;
    private int _generation;
    private int _pending;
    private volatile bool _stopping;

    public ThreadTeam(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        _workers = new Thread[threads - 1];
        for (var i = 0; i < _workers.Length; i++)
        {
            var index = i + 1;
            _workers[i] = new Thread(() => Work(index)) { IsBackground = true, Name = $"team-{index}" };
            _workers[i].Start();
        }
    }

    public void Run(Action<int> body)
    {
        if (_workers.Length == 0)
        {
            body(0);
            return;
        }

        _body = body;
        Volatile.Write(ref _pending, _workers.Length);
        Interlocked.Increment(ref _generation);
        body(0);
        var spinner = default(SpinWait);
        while (Volatile.Read(ref _pending) != 0)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        foreach (var worker in _workers)
        {
            worker.Join();
        }
    }

    private void Work(int index)
    {
        var seen = 0;
        while (true)
        {
            // Spin (never sleep) between runs, so that a run starts on every thread within a microsecond.
            var spinner = default(SpinWait);
            int generation;
            while ((generation = Volatile.Read(ref _generation)) == seen)
            {
                if (_stopping)
                {
                    return;
                }

                spinner.SpinOnce(sleep1Threshold: -1);
            }

            seen = generation;
            _body!(index);
            Interlocked.Decrement(ref _pending);
        }
    }
}
