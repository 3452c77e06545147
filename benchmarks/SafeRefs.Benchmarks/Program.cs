using BenchmarkDotNet.Running;

namespace SafeRefs.Benchmarks;

/// <summary>Entry point: <c>dotnet run -c Release --project benchmarks/SafeRefs.Benchmarks -- --filter '*Subscribe*'</c>.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        // Non-BenchmarkDotNet harnesses (e.g. the cache hit-ratio trace) register here as named commands.
        if (args.Length > 0 && Commands.TryRun(args, out var exitCode))
        {
            return exitCode;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
