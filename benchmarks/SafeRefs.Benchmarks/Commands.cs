namespace SafeRefs.Benchmarks;

/// <summary>Named commands that are not BenchmarkDotNet runs (first argument selects one).</summary>
public static class Commands
{
    [System.Diagnostics.CodeAnalysis.SuppressMessage(
        "Reliability",
        "SR1004:Static collection only grows",
        Justification = "A registry keyed by the fixed command names of CommandTable; re-registering overwrites, so it is bounded.")]
    private static readonly Dictionary<string, Func<string[], int>> Registered = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Registers a command; call from a static constructor-free place such as <see cref="TryRun"/>'s table.</summary>
    public static void Register(string name, Func<string[], int> run) => Registered[name] = run;

    public static bool TryRun(string[] args, out int exitCode)
    {
        CommandTable.RegisterAll();
        if (Registered.TryGetValue(args[0], out var run))
        {
            exitCode = run(args[1..]);
            return true;
        }

        exitCode = 0;
        return false;
    }
}
