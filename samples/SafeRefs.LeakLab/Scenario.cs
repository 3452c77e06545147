using System.Diagnostics;

namespace SafeRefs.LeakLab;

/// <summary>One leak cause, run twice: the risky .NET pattern and its SafeRefs replacement.</summary>
internal abstract class Scenario
{
    /// <summary>The name used with <c>--scenario</c>.</summary>
    public abstract string Name { get; }

    public abstract string Title { get; }

    public abstract string RiskyPattern { get; }

    public abstract string SafePattern { get; }

    /// <summary>Iterations when <c>--iterations</c> is not given.</summary>
    public virtual int DefaultIterations => 2_000;

    /// <summary>How many tracked objects the SafeRefs variant may keep alive by design (a bounded cache's capacity).</summary>
    public virtual int AllowedRetained => 0;

    /// <summary>Adjusts the child process that runs one variant (environment such as a GC heap limit).</summary>
    public virtual void ConfigureChild(ProcessStartInfo start)
    {
    }

    /// <summary>Runs one variant in this process; the lab calls it in a child process per variant (<see cref="VariantProcess"/>).</summary>
    public abstract Task<VariantResult> RunAsync(Variant variant, int iterations, IProgress<double> progress, CancellationToken cancellationToken);
}
