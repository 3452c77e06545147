using System.Diagnostics;

namespace SafeRefs.Cli.Tests.Infrastructure;

/// <summary>
/// Starts the LeakyTarget helper (which leaks a batch after every full collection, so after every heap snapshot) as a
/// child process and waits until it prints "ready". Disposing closes its standard
/// input (the child exits on that), then kills it if it is still there; the child also exits on its own after a
/// bounded lifetime.
/// </summary>
internal sealed class LeakyChild : IDisposable
{
    private readonly Process _process;

    private LeakyChild(Process process) => _process = process;

    public int Id => _process.Id;

    public static LeakyChild Start(int perCollection, int lifetimeSeconds = 60, string mode = "leak")
    {
        string target = Path.Combine(AppContext.BaseDirectory, "SafeRefs.Testing.Heap.LeakyTarget.dll");
        var info = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(target);
        info.ArgumentList.Add(perCollection.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.ArgumentList.Add(lifetimeSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.ArgumentList.Add(mode);
        Process process = Process.Start(info) ?? throw new InvalidOperationException("could not start " + target);
        var child = new LeakyChild(process);
        Task<string?> firstLine = process.StandardOutput.ReadLineAsync();
        if (!firstLine.Wait(TimeSpan.FromSeconds(30)) || firstLine.Result != "ready")
        {
            child.Dispose();
            throw new InvalidOperationException("the leaky child did not report ready");
        }

        return child;
    }

    /// <summary>Waits until the child reports that it has leaked <paramref name="total"/> items in all.</summary>
    public void WaitUntilLeaked(int total)
    {
        while (true)
        {
            Task<string?> line = _process.StandardOutput.ReadLineAsync();
            if (!line.Wait(TimeSpan.FromSeconds(30)) || line.Result is null)
            {
                throw new InvalidOperationException($"the leaky child did not report {total} leaked items");
            }

            if (line.Result == $"leaked {total}")
            {
                return;
            }
        }
    }

    public static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                _process.Kill();
                _process.WaitForExit(TimeSpan.FromSeconds(5));
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            _process.Dispose();
        }
    }
}
