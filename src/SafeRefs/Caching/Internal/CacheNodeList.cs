namespace SafeRefs.Caching.Internal;

/// <summary>An intrusive doubly linked list of cache nodes (head = most recent). Not thread-safe.</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
internal struct CacheNodeList<TKey, TValue>
    where TKey : notnull
{
    private CacheNode<TKey, TValue>? _head;
    private CacheNode<TKey, TValue>? _tail;

    public int Count { get; private set; }

    public readonly CacheNode<TKey, TValue>? Head => _head;

    public readonly CacheNode<TKey, TValue>? Tail => _tail;

    public void AddFirst(CacheNode<TKey, TValue> node)
    {
        node.Previous = null;
        node.Next = _head;
        if (_head is null)
        {
            _tail = node;
        }
        else
        {
            _head.Previous = node;
        }

        _head = node;
        Count++;
    }

    public void Remove(CacheNode<TKey, TValue> node)
    {
        if (node.Previous is null)
        {
            _head = node.Next;
        }
        else
        {
            node.Previous.Next = node.Next;
        }

        if (node.Next is null)
        {
            _tail = node.Previous;
        }
        else
        {
            node.Next.Previous = node.Previous;
        }

        node.Previous = null;
        node.Next = null;
        Count--;
    }

    public CacheNode<TKey, TValue> RemoveLast()
    {
        var node = _tail!;
        Remove(node);
        return node;
    }

    public void Clear()
    {
        _head = null;
        _tail = null;
        Count = 0;
    }
}
