using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SafeRefs.Internal;

namespace SafeRefs.Tests.Pooling.KeepAlive;

/// <summary>
/// A client's keep-alive HTTP/1.1 connection over a real socket, with Node's per-request events: <see cref="DataReceived"/>
/// when a response body arrives and <see cref="Closed"/> when the server closed the connection, both raised from the
/// read path. <see cref="Owner"/> is the request that holds it (0 while it is in the pool), so callbacks can check
/// that they touch the connection only while their own request holds it.
/// </summary>
internal sealed class HttpConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;
    private readonly StreamWriter _writer;
    private int _owner;

    public HttpConnection(int port)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        _stream = new NetworkStream(_socket, ownsSocket: true);
        _reader = new StreamReader(_stream, Encoding.ASCII);
        _writer = new StreamWriter(_stream, Encoding.ASCII) { AutoFlush = false, NewLine = "\r\n" };
        LocalPort = ((IPEndPoint)_socket.LocalEndPoint!).Port;
    }

    public event EventHandler<string>? DataReceived;

    public event EventHandler? Closed;

    public int LocalPort { get; }

    /// <summary>Gets the id of the request that holds the connection, or 0.</summary>
    public int Owner => Volatile.Read(ref _owner);

    public int DataReceivedCount => DataReceived?.GetInvocationList().Length ?? 0;

    public int ClosedCount => Closed?.GetInvocationList().Length ?? 0;

    public int ListenerCount => DataReceivedCount + ClosedCount;

    /// <summary>Marks the connection as held by <paramref name="requestId"/>; false if another request still held it.</summary>
    public bool TryClaim(int requestId) => Interlocked.CompareExchange(ref _owner, requestId, 0) == 0;

    /// <summary>Marks the connection as back in the pool.</summary>
    public void Release() => Volatile.Write(ref _owner, 0);

    /// <summary>Sends <c>GET <paramref name="path"/></c> and reads the response; raises <see cref="DataReceived"/> with its body.</summary>
    public async Task<string> GetAsync(string path)
    {
        await _writer.WriteAsync($"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").ConfigureAwait(false);
        await _writer.FlushAsync().ConfigureAwait(false);
        var status = await _reader.ReadLineAsync().ConfigureAwait(false);
        if (status is null)
        {
            Closed?.Invoke(this, EventArgs.Empty);
            throw new IOException("The server closed the connection.");
        }

        var length = 0;
        while (await _reader.ReadLineAsync().ConfigureAwait(false) is { Length: > 0 } header)
        {
            if (header.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                length = int.Parse(header.AsSpan("Content-Length:".Length), CultureInfo.InvariantCulture);
            }
        }

        var body = new char[length];
        var read = await _reader.ReadBlockAsync(body).ConfigureAwait(false);
        var text = new string(body, 0, read);
        DataReceived?.Invoke(this, text);
        return text;
    }

    public void Dispose()
    {
        _reader.Dispose();
        _writer.Dispose();
        _stream.Dispose();
    }
}
