using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace SafeRefs.Caching.Redis.Tests.Infrastructure;

/// <summary>
/// A real <c>redis-server</c> on a free loopback port, one per test class: started before the first test, stopped
/// after the last. Tests can stop and start it again (same port) to play an outage. Without <c>redis-server</c> on
/// the PATH it does nothing, and <see cref="RedisFactAttribute"/> skips the tests (except under CI).
/// </summary>
/// <remarks>
/// The server's output, exit codes and the fixture's own steps are kept (<see cref="Describe"/>) so that a failing
/// test can say what the server did. The server is ready when it answers <c>INFO server</c> with its own process
/// id: a TCP connect alone would also succeed against another process holding the port.
/// </remarks>
public sealed class RedisServerFixture : IAsyncLifetime
{
    public const string InstallHint = "redis-server is not installed; install it with `apt-get update && apt-get install -y redis-server` (Debian/Ubuntu) to run the Redis integration tests (CI installs it and requires them).";

    private static readonly Lazy<string?> ServerPathLazy = new(() => FindOnPath("redis-server"));
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(30);
    private readonly ConcurrentQueue<string> _events = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
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

        // A port another fixture (or any bind on the machine) took between the probe and the server's bind makes the
        // server exit at once: try another one.
        for (var attempt = 1; ; attempt++)
        {
            Port = FreePort();
            try
            {
                await StartAsync();
                return;
            }
            catch (InvalidOperationException) when (attempt < 3 && _process is null)
            {
                Record($"start on port {Port} failed; trying another port");
            }
        }
    }

    public async Task DisposeAsync() => await StopAsync();

    /// <summary>A client configuration that reconnects quickly, so outage tests stay short; the client logs its
    /// connection events to <paramref name="logs"/> when given.</summary>
    public ConfigurationOptions ClientOptions(ILoggerFactory? logs = null)
    {
        var options = ConfigurationOptions.Parse(Endpoint);
        options.LoggerFactory = logs;
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 10_000;
        options.SyncTimeout = 10_000;
        options.AsyncTimeout = 10_000;
        options.ConnectRetry = 1;
        options.ReconnectRetryPolicy = new LinearRetry(100);
        options.HeartbeatInterval = TimeSpan.FromMilliseconds(100);
        return options;
    }

    /// <summary>Starts the server on <see cref="Port"/> and returns once it answers as the process started here.</summary>
    /// <exception cref="InvalidOperationException">It exited or did not answer within 30 s (the message has its output).</exception>
    public async Task StartAsync()
    {
        if (_process is not null)
        {
            return;
        }

        var start = new ProcessStartInfo(ServerPath!)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var port = Port.ToString(CultureInfo.InvariantCulture);
        foreach (var argument in new[] { "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "verbose" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        var pid = process.Id;
        Record($"started redis-server pid {pid} on port {Port}");
        process.EnableRaisingEvents = true;
        process.OutputDataReceived += (_, e) => RecordOutput(pid, e.Data);
        process.ErrorDataReceived += (_, e) => RecordOutput(pid, e.Data);
        process.Exited += (_, _) => Record($"redis-server pid {pid} exited");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var clock = Stopwatch.StartNew();
        string? lastProblem = null;
        while (true)
        {
            if (process.HasExited)
            {
                await process.WaitForExitAsync();
                Record($"redis-server pid {pid} exited with code {process.ExitCode} before it was ready");
                process.Dispose();
                throw new InvalidOperationException($"redis-server on port {Port} exited before it was ready.{Environment.NewLine}{Describe()}");
            }

            var problem = await ProbeAsync(pid);
            if (problem is null)
            {
                _process = process;
                Record($"redis-server pid {pid} ready after {clock.ElapsedMilliseconds} ms");
                return;
            }

            if (problem != lastProblem)
            {
                Record(problem);
                lastProblem = problem;
            }

            if (clock.Elapsed > StartBound)
            {
                process.Kill();
                await process.WaitForExitAsync();
                process.Dispose();
                throw new InvalidOperationException($"redis-server on port {Port} did not answer within {StartBound.TotalSeconds} s.{Environment.NewLine}{Describe()}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Kills the server (no shutdown, no save: an outage) and waits until the process is gone.</summary>
    public async Task StopAsync()
    {
        if (_process is not { } process)
        {
            return;
        }

        _process = null;
        var pid = process.Id;
        if (!process.HasExited)
        {
            process.Kill();
        }

        await process.WaitForExitAsync();
        Record($"redis-server pid {pid} stopped (exit code {process.ExitCode})");
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

    /// <summary>What the fixture and the server did so far (server output, starts, exits), for failure messages.</summary>
    public string Describe() => string.Join(Environment.NewLine, _events);

    /// <summary>Asks the port for <c>INFO server</c>; <see langword="null"/> when the process <paramref name="pid"/>
    /// answered, otherwise what went wrong.</summary>
    private async Task<string?> ProbeAsync(int pid)
    {
        try
        {
            using var client = new TcpClient { NoDelay = true };
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.ConnectAsync(IPAddress.Loopback, Port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("INFO server\r\n"u8.ToArray(), timeout.Token);
            var reply = new StringBuilder();
            var buffer = new byte[4096];
            while (!reply.ToString().Contains("\r\n\r\n", StringComparison.Ordinal) || !reply.ToString().Contains("process_id:", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, timeout.Token);
                if (read == 0)
                {
                    return $"port {Port}: connection closed after {reply.Length} bytes";
                }

                reply.Append(Encoding.ASCII.GetString(buffer, 0, read));
                if (reply[0] == '-')
                {
                    return $"port {Port}: error reply {reply.ToString().Trim()}";
                }
            }

            var text = reply.ToString();
            var at = text.IndexOf("process_id:", StringComparison.Ordinal) + "process_id:".Length;
            var answered = text[at..text.IndexOf('\r', at)];
            return answered == pid.ToString(CultureInfo.InvariantCulture)
                ? null
                : $"port {Port}: answered by process {answered}, not by the server started here ({pid})";
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            return $"port {Port}: {ex.GetType().Name}: {ex.Message}";
        }
    }

    private void RecordOutput(int pid, string? line)
    {
        if (line is not null)
        {
            Record($"[{pid}] {line}");
        }
    }

    private void Record(string what) => _events.Enqueue(string.Create(CultureInfo.InvariantCulture, $"{_clock.Elapsed.TotalSeconds,8:F3} s  {what}"));

    /// <summary>A free loopback port outside the ephemeral range where the kernel can find one, so that no outgoing
    /// connection or <c>bind(0)</c> elsewhere on the machine can take it while a test has the server stopped.</summary>
    private static int FreePort()
    {
        if (EphemeralRangeStart() is { } low && low > 10_000)
        {
            for (var attempt = 0; attempt < 100; attempt++)
            {
                var candidate = Random.Shared.Next(10_000, low);
                try
                {
                    using var probe = new TcpListener(IPAddress.Loopback, candidate);
                    probe.Start();
                    return candidate;
                }
                catch (SocketException)
                {
                    // Taken: try another.
                }
            }
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static int? EphemeralRangeStart()
    {
        try
        {
            var text = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range");
            var first = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0];
            return int.Parse(first, CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
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
