using SafeRefs.Internal;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Internal;

/// <summary>
/// The gate behind "no invocation starts after Dispose returns" (weak links, weak-event <c>Subscribe</c> entries and
/// the strong tokens), driven step by step: the raiser's side is called directly, so it can be stopped exactly between
/// its admission and its call, which a real raise cannot be without a hook in its hot path.
/// </summary>
public sealed class InvocationGateTests
{
    // A caller admitted before the close counts as started: Close does not wait for it, DisposeAsync does, and no later
    // caller is admitted. Its exit is the last one out of the closed gate.
    [Fact]
    public async Task Close_WithACallerAdmitted_ReturnsAtOnce_RefusesLaterCallers_LastExitIsReported()
    {
        var gate = new Holder();
        Assert.True(gate.Gate.TryEnter()); // the raiser passed its check and is about to call the handler

        Assert.True(gate.Gate.Close());
        Assert.False(gate.Gate.Close());
        Assert.False(gate.Gate.TryEnter());
        Assert.Equal(1, gate.Gate.Count);

        var idle = gate.Gate.WhenIdleAsync().AsTask();
        Assert.False(idle.IsCompleted);
        Assert.True(gate.Gate.Exit()); // the last one out of the closed gate
        await idle.Bounded();
        Assert.Equal(0, gate.Gate.Count);
    }

    // Only the exit that empties a closed gate is the last one: never an exit of an open gate, never an earlier one.
    [Fact]
    public void Exit_OnlyTheOneThatEmptiesAClosedGateIsLast()
    {
        var gate = new Holder();
        Assert.True(gate.Gate.TryEnter());
        Assert.False(gate.Gate.Exit()); // open: nobody is last
        Assert.True(gate.Gate.TryEnter());
        Assert.True(gate.Gate.TryEnter());
        Assert.True(gate.Gate.Close());
        Assert.False(gate.Gate.Exit());
        Assert.True(gate.Gate.Exit());
        Assert.True(gate.Gate.WhenIdleAsync().AsTask().IsCompleted);
    }

    // A refused caller is never counted, even transiently: otherwise its own undo could be the last exit, and two
    // callers would free what the gate guards.
    [Fact]
    public void TryEnter_OnAClosedGate_IsNotCounted()
    {
        var gate = new Holder();
        Assert.True(gate.Gate.Close());
        Assert.False(gate.Gate.TryEnter());
        Assert.Equal(0, gate.Gate.Count);
        Assert.True(gate.Gate.IsClosed);
    }

    // A closer that reads: alone, the close alone makes it the only reader (not admitted, nothing to exit)...
    [Fact]
    public void CloseToRead_NobodyAdmitted_ClosesWithoutAdmitting()
    {
        var gate = new Holder();

        Assert.True(gate.Gate.CloseToRead(out var admitted));

        Assert.False(admitted);
        Assert.True(gate.Gate.IsClosed);
        Assert.Equal(0, gate.Gate.Count);
        Assert.False(gate.Gate.TryEnter());
        Assert.False(gate.Gate.CloseToRead(out _));
        Assert.False(gate.Gate.Close());
        Assert.True(gate.Gate.WhenIdleAsync().AsTask().IsCompleted);
    }

    // ...and with a caller admitted, the same operation admits it too, so that the last exit is still reported once.
    [Fact]
    public void CloseToRead_WithACallerAdmitted_AdmitsTheCloser_LastExitIsReported()
    {
        var gate = new Holder();
        Assert.True(gate.Gate.TryEnter());

        Assert.True(gate.Gate.CloseToRead(out var admitted));

        Assert.True(admitted);
        Assert.Equal(2, gate.Gate.Count);
        Assert.False(gate.Gate.TryEnter());
        Assert.False(gate.Gate.Exit()); // the closer is done
        Assert.True(gate.Gate.Exit()); // the earlier caller is the last one out
    }

    // The gate is a mutable struct: keep it in a field of a class and call it in place.
    private sealed class Holder
    {
        public InvocationGate Gate;
    }
}
