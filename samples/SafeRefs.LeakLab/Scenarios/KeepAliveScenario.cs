using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.ObjectPool;
using SafeRefs.Pooling;
using SafeRefs.Testing;

namespace SafeRefs.LeakLab.Scenarios;

/// <summary>
/// Node's keep-alive agent leak in .NET: one pooled connection (a real loopback socket) serves every request, each
/// request adds a listener and starts a timeout timer for it, and nothing removes or stops them.
/// </summary>
internal sealed class KeepAliveScenario : StepScenario
{
    public override string Name => "keepalive";

    public override string Title => "Per-request listeners on a reused keep-alive connection";

    public override string RiskyPattern => "conn = pool.Get(); conn.DataReceived += handler; clock.CreateTimer(timeout); pool.Return(conn);";

    public override string SafePattern => "using var lease = pool.Rent(); lease.On(add, remove, handler); lease.Timers.After(timeout, ...);";

    public override int DefaultIterations => 1_000;

    protected override IScenarioRun Start(Variant variant) => new Run(variant);

    private sealed class Run : IScenarioRun
    {
        private static readonly TimeSpan RequestTimeout = TimeSpan.FromMinutes(2);

        private readonly Variant _variant;
        private readonly LoopbackServer _server = new();
        private readonly ConnectionPolicy _policy;
        private readonly ObjectPool<Connection> _pool;
        private readonly GuardedObjectPool<Connection> _guarded;

        public Run(Variant variant)
        {
            _variant = variant;
            _policy = new ConnectionPolicy(_server.EndPoint);
            _pool = new DefaultObjectPool<Connection>(_policy, maximumRetained: 1);
            _guarded = new GuardedObjectPool<Connection>(new DefaultObjectPool<Connection>(_policy, maximumRetained: 1));
        }

        public string? Note { get; private set; }

        public async ValueTask StepAsync(int iteration, LeakTracker tracker)
        {
            if (_variant == Variant.Risky)
            {
                var connection = _pool.Get();
                AttachRisky(connection, iteration, tracker);
                await connection.RoundTripAsync("PING").ConfigureAwait(false);
                Note = $"{connection.DataReceivedCount} listeners on the reused socket (local port {connection.LocalPort})";
                _pool.Return(connection);
            }
            else
            {
                using var lease = _guarded.Rent();
                AttachSafe(lease, iteration, tracker);
                await lease.Value.RoundTripAsync("PING").ConfigureAwait(false);
                Note = $"{lease.Value.DataReceivedCount} listener(s) while in use (local port {lease.Value.LocalPort})";
            }
        }

        public async ValueTask DisposeAsync()
        {
            _policy.DisposeAll();
            await _server.DisposeAsync().ConfigureAwait(false);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void AttachRisky(Connection connection, int iteration, LeakTracker tracker)
        {
            var request = new RequestState(iteration);
            connection.DataReceived += (s, line) => request.Hit();

            // The per-request timeout (Node's socket.setTimeout): never disposed, it holds the request until it is due.
#pragma warning disable SR1003 // the risky pattern, on purpose
            _ = TimeProvider.System.CreateTimer(static state => ((RequestState)state!).Hit(), request, RequestTimeout, Timeout.InfiniteTimeSpan);
#pragma warning restore SR1003
            tracker.Track(request);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void AttachSafe(PoolLease<Connection> lease, int iteration, LeakTracker tracker)
        {
            var request = new RequestState(iteration);
            lease.On<EventHandler<string>>(static (c, h) => c.DataReceived += h, static (c, h) => c.DataReceived -= h, (s, line) => request.Hit());
            lease.Timers.After(RequestTimeout, request.Hit); // stopped when the lease ends
            tracker.Track(request);
        }
    }

    /// <summary>Creates connections and remembers them, so the run can close every socket it opened.</summary>
    private sealed class ConnectionPolicy(IPEndPoint endPoint) : PooledObjectPolicy<Connection>
    {
        private readonly List<Connection> _created = [];

        public override Connection Create()
        {
            var connection = new Connection(endPoint);
            _created.Add(connection);
            return connection;
        }

        public void DisposeAll()
        {
            foreach (var connection in _created)
            {
                connection.Dispose();
            }

            _created.Clear();
        }

        public override bool Return(Connection obj) => obj.IsConnected;
    }

    /// <summary>A client connection over a real socket, with an event per received line.</summary>
    private sealed class Connection : IDisposable
    {
        private readonly Socket _socket;
        private readonly NetworkStream _stream;
        private readonly StreamReader _reader;
        private readonly StreamWriter _writer;

        public Connection(IPEndPoint endPoint)
        {
            _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            _socket.Connect(endPoint);
            _stream = new NetworkStream(_socket, ownsSocket: true);
            _reader = new StreamReader(_stream);
            _writer = new StreamWriter(_stream) { AutoFlush = true, NewLine = "\n" };
        }

        public event EventHandler<string>? DataReceived;

        public bool IsConnected => _socket.Connected;

        public int LocalPort => ((IPEndPoint)_socket.LocalEndPoint!).Port;

        public int DataReceivedCount => DataReceived?.GetInvocationList().Length ?? 0;

        public async Task RoundTripAsync(string line)
        {
            await _writer.WriteLineAsync(line).ConfigureAwait(false);
            var reply = await _reader.ReadLineAsync().ConfigureAwait(false) ?? throw new IOException("The server closed the connection.");
            DataReceived?.Invoke(this, reply);
        }

        public void Dispose()
        {
            _reader.Dispose();
            _writer.Dispose();
            _stream.Dispose();
        }
    }

    /// <summary>A line-protocol server on 127.0.0.1 that answers PONG to every line.</summary>
    private sealed class LoopbackServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accepting;

        public LoopbackServer()
        {
            _listener.Start();
            _accepting = AcceptAsync();
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            _listener.Stop();
            try
            {
                await _accepting.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
                _ = ServeAsync(client, _stop.Token);
            }
        }

        private static async Task ServeAsync(TcpClient client, CancellationToken cancellationToken)
        {
            using (client)
            {
                var stream = client.GetStream();
                using var reader = new StreamReader(stream);
                using var writer = new StreamWriter(stream) { AutoFlush = true, NewLine = "\n" };
                try
                {
                    while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is not null)
                    {
                        await writer.WriteLineAsync("PONG").ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException)
                {
                    // The client went away or the server stops.
                }
            }
        }
    }
}
