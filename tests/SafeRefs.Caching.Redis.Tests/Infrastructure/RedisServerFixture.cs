using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace SafeRefs.Caching.Redis.Tests.Infrastructure;

/// <summary>
/// A real <c>redis-server</c> on a free loopback port, one per test class: started before the first test, stopped
/// after the last. Tests can stop and start it again (same port) to play an outage. Without <c>redis-server</c> on
/// the PATH it does nothing, and <see cref="RedisFactAttribute"/> skips the tests (except under CI).
/// </summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    public const string InstallHint = "redis-server is not installed; install it with `apt-get update && apt-get install -y redis-server` (Debian/Ubuntu) to run the Redis integration tests (CI installs it and requires them).";

    private static readonly Lazy<string?> ServerPathLazy = new(() => FindOnPath("redis-server"));
    private Process? _process;

    public static string? ServerPath => ServerPathLazy.Value;

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public int Port { get; private set; }

    public string Endpoint => $"127.0.0.1:{Port}";

    public async Task InitializeAsync()
    {
        if (ServerPath is null)
        {
            if (IsCi)
            {
                throw new InvalidOperationException(InstallHint);
            }

            return; // the tests are skipped
        }

        Port = FreePort();
        await StartAsync();
    }

    public async Task DisposeAsync() => await StopAsync();

    /// <summary>A client configuration that reconnects quickly, so outage tests stay short.</summary>
    public ConfigurationOptions ClientOptions()
    {
        var options = ConfigurationOptions.Parse(Endpoint);
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 10_000;
        options.SyncTimeout = 10_000;
        options.AsyncTimeout = 10_000;
        options.ConnectRetry = 1;
        options.ReconnectRetryPolicy = new LinearRetry(100);
        options.HeartbeatInterval = TimeSpan.FromMilliseconds(100);
        return options;
    }

    public async Task StartAsync()
    {
        if (_process is not null)
        {
            return;
        }

        var start = new ProcessStartInfo(ServerPath!)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no" })
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        _process.OutputDataReceived += static (_, _) => { };
        _process.ErrorDataReceived += static (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(20) && !_process.HasExited)
            {
                await Task.Delay(20);
            }
        }
    }

    public async Task StopAsync()
    {
        if (_process is not { } process)
        {
            return;
        }

        _process = null;
        if (!process.HasExited)
        {
            process.Kill();
        }

        await process.WaitForExitAsync();
        process.Dispose();
    }

    /// <summary>Runs a command as an admin client (CLIENT KILL, CONFIG SET…).</summary>
    public async Task<RedisResult> ExecuteAsync(string command, params object[] arguments)
    {
        var options = ClientOptions();
        options.AllowAdmin = true;
        await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
        return await connection.GetServer(connection.GetEndPoints()[0]).ExecuteAsync(command, arguments);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? FindOnPath(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            if (directory.Length > 0 && File.Exists(Path.Combine(directory, name)))
            {
                return Path.Combine(directory, name);
            }
        }

        return null;
    }
}
