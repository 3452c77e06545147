using Microsoft.Extensions.ObjectPool;
using SafeRefs.Internal;

namespace SafeRefs.Tests.Pooling.KeepAlive;

/// <summary>
/// Creates connections to one server and checks each connection as it goes back into the pool: it must carry no
/// request listener (counted in <see cref="ListenersAtReturn"/>), and it is marked as held by nobody.
/// </summary>
internal sealed class HttpConnectionPolicy(int port) : PooledObjectPolicy<HttpConnection>
{
    private readonly List<HttpConnection> _created = [];
    private int _listenersAtReturn;

    public int Created
    {
        get
        {
            lock (_created)
            {
                return _created.Count;
            }
        }
    }

    /// <summary>Gets how many returns found a request listener still attached.</summary>
    public int ListenersAtReturn => Volatile.Read(ref _listenersAtReturn);

    public IReadOnlyList<HttpConnection> Connections
    {
        get
        {
            lock (_created)
            {
                return [.. _created];
            }
        }
    }

    public override HttpConnection Create()
    {
        var connection = new HttpConnection(port);
        lock (_created)
        {
            _created.Add(connection);
        }

        return connection;
    }

    public override bool Return(HttpConnection obj)
    {
        if (obj.ListenerCount != 0)
        {
            Interlocked.Increment(ref _listenersAtReturn);
        }

        obj.Release();
        return true;
    }

    public void DisposeAll()
    {
        foreach (var connection in Connections)
        {
            connection.Dispose();
        }
    }
}
