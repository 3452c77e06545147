using System.Runtime.InteropServices;

namespace SafeRefs.Internal;

/// <summary>
/// A contention-free counter: increments go to one of several cache-line-padded cells picked by the current processor (so threads running on different cores never share a line); the sum
/// is read on demand. Thread-safe.
/// </summary>
internal sealed class StripedCounter
{
    private readonly Cell[] _cells;
    private readonly int _mask;

    public StripedCounter()
    {
        var size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(Environment.ProcessorCount * 2, 4, 256));
        _cells = new Cell[size];
        _mask = size - 1;
    }

    public void Increment() => Interlocked.Increment(ref _cells[Thread.GetCurrentProcessorId() & _mask].Value);

    public long Sum()
    {
        long sum = 0;
        for (var i = 0; i < _cells.Length; i++)
        {
            sum += Volatile.Read(ref _cells[i].Value);
        }

        return sum;
    }

    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct Cell
    {
        [FieldOffset(64)]
#pragma warning disable IDE1006 // a public field of a private padding struct, used by ref
        public long Value;
#pragma warning restore IDE1006
    }
}
