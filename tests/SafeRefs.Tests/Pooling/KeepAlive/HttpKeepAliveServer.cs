using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SafeRefs.Tests.Pooling.KeepAlive;

/// <summary>
/// A minimal HTTP/1.1 keep-alive server on 127.0.0.1 and an ephemeral port: each <c>GET /path</c> on a connection is
/// answered with <c>200 OK</c> and the path as the body, and the connection stays open for the next request. A path
/// under <c>/held/</c> is answered only once <see cref="ReleaseHeld"/> has been called. Stops (and closes every connection)
/// when disposed.
/// </summary>
internal sealed class HttpKeepAliveServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;
    private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _accepted;
    private int _requests;

    public HttpKeepAliveServer()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>Gets how many connections the server accepted.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Gets how many requests the server answered.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Answers the held requests, those received so far and any later one (a latch: a request that reaches
    /// the server after the release is not held).</summary>
    public void ReleaseHeld() => _held.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        ReleaseHeld();
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections, _accepting];
        }

        await Task.WhenAll(connections).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            lock (_connections)
            {
                _connections.Add(ServeAsync(socket));
            }
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using (socket)
        {
            using var stream = new NetworkStream(socket, ownsSocket: false);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            using var writer = new StreamWriter(stream, Encoding.ASCII) { AutoFlush = false, NewLine = "\r\n" };
            try
            {
                while (await reader.ReadLineAsync(_stop.Token) is { } requestLine)
                {
                    // Headers up to the blank line; GET requests have no body.
                    while (await reader.ReadLineAsync(_stop.Token) is { Length: > 0 })
                    {
                    }

                    var path = requestLine.Split(' ')[1];
                    if (path.StartsWith("/held/", StringComparison.Ordinal))
                    {
                        await _held.Task.WaitAsync(_stop.Token);
                    }

                    await writer.WriteAsync($"HTTP/1.1 200 OK\r\nContent-Length: {path.Length}\r\nConnection: keep-alive\r\n\r\n{path}");
                    await writer.FlushAsync(_stop.Token);
                    Interlocked.Increment(ref _requests);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
                // The client went away or the server stops.
            }
        }
    }
}
