using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SafeRefs.ScaleOut;

// Usage: dotnet run --project samples/SafeRefs.ScaleOut [-- host:port]
// Without an endpoint, starts a throw-away redis-server on a free loopback port (apt-get install -y redis-server).
var endpoint = args.Length > 0 ? args[0] : null;
Process? server = null;
if (endpoint is null)
{
    var port = FreePort();
    try
    {
        server = Process.Start(new ProcessStartInfo("redis-server", $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        });
    }
    catch (System.ComponentModel.Win32Exception)
    {
        Console.Error.WriteLine("redis-server not found: pass host:port of a Redis, or `apt-get install -y redis-server`.");
        return 2;
    }

    endpoint = $"127.0.0.1:{port}";
    await WaitForPortAsync(port);
}

try
{
    var result = await ScaleOutDemo.RunAsync(endpoint, Console.Out);
    return result.MaxL1CountA <= ScaleOutDemo.Capacity && result.MaxL1CountB <= ScaleOutDemo.Capacity && result.RemovalReachedB ? 0 : 1;
}
finally
{
    if (server is not null)
    {
        server.Kill();
        await server.WaitForExitAsync();
        server.Dispose();
    }
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

static async Task WaitForPortAsync(int port)
{
    for (var attempt = 0; attempt < 500; attempt++)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return;
        }
        catch (SocketException)
        {
            await Task.Delay(20);
        }
    }
}
