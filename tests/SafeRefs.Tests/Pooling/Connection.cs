using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.ObjectPool;

namespace SafeRefs.Tests.Pooling;

/// <summary>A client connection over a real socket with per-request events, like Node's keep-alive socket.</summary>
public sealed class Connection : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;
    private readonly StreamWriter _writer;

    public Connection(int port)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        _stream = new NetworkStream(_socket, ownsSocket: true);
        _reader = new StreamReader(_stream, Encoding.ASCII);
        _writer = new StreamWriter(_stream, Encoding.ASCII) { AutoFlush = true, NewLine = "\n" };
        LocalPort = ((IPEndPoint)_socket.LocalEndPoint!).Port;
    }

    public event EventHandler<string>? DataReceived;

    public event EventHandler? Closed;

    public event EventHandler? TimedOut;

    public int LocalPort { get; }

    public int DataReceivedCount => DataReceived?.GetInvocationList().Length ?? 0;

    public int ClosedCount => Closed?.GetInvocationList().Length ?? 0;

    public int TimedOutCount => TimedOut?.GetInvocationList().Length ?? 0;

    public int ListenerCount => DataReceivedCount + ClosedCount + TimedOutCount;

    /// <summary>Sends one line, reads the reply, raises <see cref="DataReceived"/> with it.</summary>
    public string Request(string line)
    {
        _writer.WriteLine(line);
        var reply = _reader.ReadLine() ?? throw new IOException("connection closed");
        DataReceived?.Invoke(this, reply);
        return reply;
    }

    public void RaiseTimedOut() => TimedOut?.Invoke(this, EventArgs.Empty);

    public void Dispose()
    {
        _reader.Dispose();
        _writer.Dispose();
        _stream.Dispose();
        Closed?.Invoke(this, EventArgs.Empty);
    }
}

/// <summary>Creates connections to one server; every connection can be reused.</summary>
public sealed class ConnectionPolicy(int port) : PooledObjectPolicy<Connection>
{
    public int Created { get; private set; }

    public override Connection Create()
    {
        Created++;
        return new Connection(port);
    }

    public override bool Return(Connection obj) => true;
}
