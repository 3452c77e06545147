using System.Runtime.CompilerServices;
using Xunit.Sdk;

namespace SafeRefs.Tests.Infrastructure;

/// <summary>
/// One bound for every wait in the tests: a deadlock or a lost signal then fails the test with a message naming the
/// wait, instead of hanging the run. Generous, because the machine running the tests may be heavily loaded; a wait that
/// times out is a bug, never a slow machine. The failure is an <see cref="XunitException"/>, never a
/// <see cref="TimeoutException"/>, so a test that expects the code under test to time out cannot pass on it.
/// </summary>
internal static class TestTimeouts
{
    /// <summary>The longest any test waits for one thing.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Completes as <paramref name="task"/> does, or fails the test after <see cref="Bound"/>.</summary>
    public static async Task Bounded(this Task task, [CallerArgumentExpression(nameof(task))] string what = "")
    {
        try
        {
            await task.WaitAsync(Bound).ConfigureAwait(false);
        }
        catch (TimeoutException e) when (!task.IsCompleted)
        {
            throw Timeout(what, e);
        }
    }

    /// <inheritdoc cref="Bounded(Task, string)"/>
    public static async Task<T> Bounded<T>(this Task<T> task, [CallerArgumentExpression(nameof(task))] string what = "")
    {
        try
        {
            return await task.WaitAsync(Bound).ConfigureAwait(false);
        }
        catch (TimeoutException e) when (!task.IsCompleted)
        {
            throw Timeout(what, e);
        }
    }

    /// <inheritdoc cref="Bounded(Task, string)"/>
    public static Task Bounded(this ValueTask task, [CallerArgumentExpression(nameof(task))] string what = "") =>
        task.AsTask().Bounded(what);

    /// <inheritdoc cref="Bounded(Task, string)"/>
    public static Task<T> Bounded<T>(this ValueTask<T> task, [CallerArgumentExpression(nameof(task))] string what = "") =>
        task.AsTask().Bounded(what);

    /// <summary><see cref="Task.Wait()"/> (same exceptions), or fails the test after <see cref="Bound"/>.</summary>
    public static void WaitBounded(this Task task, [CallerArgumentExpression(nameof(task))] string what = "")
    {
        if (!task.Wait(Bound))
        {
            throw Timeout(what);
        }
    }

    /// <summary><see cref="ManualResetEventSlim.Wait()"/>, or fails the test after <see cref="Bound"/>.</summary>
    public static void WaitBounded(this ManualResetEventSlim signal, [CallerArgumentExpression(nameof(signal))] string what = "")
    {
        if (!signal.Wait(Bound))
        {
            throw Timeout(what);
        }
    }

    /// <summary><see cref="SemaphoreSlim.Wait()"/>, or fails the test after <see cref="Bound"/>.</summary>
    public static void WaitBounded(this SemaphoreSlim semaphore, [CallerArgumentExpression(nameof(semaphore))] string what = "")
    {
        if (!semaphore.Wait(Bound))
        {
            throw Timeout(what);
        }
    }

    /// <summary><see cref="CountdownEvent.Wait()"/>, or fails the test after <see cref="Bound"/>.</summary>
    public static void WaitBounded(this CountdownEvent countdown, [CallerArgumentExpression(nameof(countdown))] string what = "")
    {
        if (!countdown.Wait(Bound))
        {
            throw Timeout(what);
        }
    }

    /// <summary><see cref="Barrier.SignalAndWait()"/>, or fails the test after <see cref="Bound"/>.</summary>
    public static void SignalAndWaitBounded(this Barrier barrier, [CallerArgumentExpression(nameof(barrier))] string what = "")
    {
        if (!barrier.SignalAndWait(Bound))
        {
            throw Timeout(what);
        }
    }

    /// <summary><see cref="Thread.Join()"/>, or fails the test after <see cref="Bound"/>.</summary>
    public static void JoinBounded(this Thread thread, [CallerArgumentExpression(nameof(thread))] string what = "")
    {
        if (!thread.Join(Bound))
        {
            throw Timeout(what);
        }
    }

    private static XunitException Timeout(string what, Exception? inner = null) =>
        new($"'{what}' did not finish within {Bound.TotalSeconds} s: a deadlock or a lost signal", inner);
}
