using System.Collections.ObjectModel;
using System.Collections.Specialized;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Windows.Input;
using SafeRefs.Events;
using SafeRefs.Subscriptions.WeakLinks;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

[Collection(GcCollection.Name)]
public sealed class WeakSubscriptionsTests
{
    [Fact]
    public void OnPropertyChanged_AddAccessorThrows_PropagatesAndLeavesNoLinkRegistered()
    {
        var source = new ThrowingPropertyChangedSource();
        var owner = new object();
        var before = WeakLink.Registry.Count;

        // A link left registered on failure would stay there every time: 100 failures, 100 links.
        for (var i = 0; i < 100; i++)
        {
            Assert.Throws<InvalidOperationException>(() => WeakSubscriptions.OnPropertyChanged(source, owner, static (_, _, _) => { }));
        }

        Assert.True(WeakLink.Registry.Count - before < 50, $"links grew from {before} to {WeakLink.Registry.Count}");
        GC.KeepAlive(owner);
    }

    [Fact]
    public void NullArguments_Throw()
    {
        var source = new Model();
        Assert.Throws<ArgumentNullException>(() => WeakSubscriptions.OnPropertyChanged<object>(null!, new object(), static (_, _, _) => { }));
        Assert.Throws<ArgumentNullException>(() => WeakSubscriptions.OnPropertyChanged<object>(source, null!, static (_, _, _) => { }));
        Assert.Throws<ArgumentNullException>(() => WeakSubscriptions.OnPropertyChanged<object>(source, new object(), null!));
        Assert.Throws<ArgumentNullException>(() => WeakSubscriptions.OnCollectionChanged<object>(null!, new object(), static (_, _, _) => { }));
        Assert.Throws<ArgumentNullException>(() => WeakSubscriptions.OnCanExecuteChanged<object>(null!, new object(), static (_, _, _) => { }));
    }

    [Fact]
    public void OnPropertyChanged_ForwardsUntilDisposed()
    {
        var source = new Model();
        var owner = new Owner();
        var token = WeakSubscriptions.OnPropertyChanged(source, owner, static (o, _, e) => o.Seen.Add(e.PropertyName!));
        source.Raise("A");
        token.Dispose();
        source.Raise("B");
        Assert.Equal(["A"], owner.Seen);
        Assert.Equal(0, source.HandlerCount);
    }

    [Fact]
    public void OnCollectionChanged_And_OnCanExecuteChanged_Forward()
    {
        var collection = new ObservableCollection<int>();
        var command = new Command();
        var owner = new Owner();
        using var a = WeakSubscriptions.OnCollectionChanged(collection, owner, static (o, _, e) => o.Seen.Add(e.Action.ToString()));
        using var b = WeakSubscriptions.OnCanExecuteChanged(command, owner, static (o, s, _) => o.Seen.Add(s is Command ? "can" : "?"));
        collection.Add(1);
        command.RaiseCanExecuteChanged();
        Assert.Equal([nameof(NotifyCollectionChangedAction.Add), "can"], owner.Seen);
    }

    [Fact]
    public void OwnerDropped_OwnerCollected_ForwarderDetachesOnNextRaise()
    {
        var source = new Model();
        var owner = SubscribeOwner(source, null);
        GcAssert.Collected(owner, "the source holds only the forwarder");
        Assert.Equal(1, source.HandlerCount);
        source.Raise("X");
        Assert.Equal(0, source.HandlerCount);
        GC.KeepAlive(source);
    }

    [Fact]
    public void OwnerAlive_ControlTwin_StaysSubscribed()
    {
        var source = new Model();
        var root = new List<object>();
        var owner = SubscribeOwner(source, root);
        GcAssert.NotCollected(owner, "the test roots the owner");
        source.Raise("X");
        Assert.Equal(["X"], ((Owner)root[0]).Seen);
        Assert.Equal(1, source.HandlerCount);
        GC.KeepAlive(root);
        GC.KeepAlive(source);
    }

    [Fact]
    public void OwnerDropped_SourceNeverRaises_PurgeOnCallerThreadDetaches()
    {
        var source = new Model();
        var owner = SubscribeOwner(source, null);
        GcAssert.Collected(owner, "the source holds only the forwarder");
        WeakLink.Registry.Purge();
        Assert.Equal(0, source.HandlerCount);
        GC.KeepAlive(source);
    }

    [Fact]
    public void Source_Dropped_IsCollectedWhileOwnerLives()
    {
        var owner = new Owner();
        var source = GcAssert.Track(() => SubscribeSource(owner));
        GcAssert.Collected(source, "forwarders hold their source weakly");
        GC.KeepAlive(owner);
    }

    [Fact]
    public void Source_Dropped_ForwarderIsDroppedByPurgeWhileOwnerLives()
    {
        var owner = new Owner();
        var token = SubscribeToDroppedSource(owner, out var source);
        GcAssert.Collected(source, "forwarders hold their source weakly");
        WeakLink.Registry.Purge();
        Assert.True(((WeakLink)token).IsDetached);
        GC.KeepAlive(owner);
    }

    [Fact]
    public void Source_Alive_ControlTwin_ForwarderIsKeptByPurge()
    {
        var owner = new Owner();
        var source = new Model();
        var token = WeakSubscriptions.OnPropertyChanged(source, owner, static (o, _, e) => o.Seen.Add(e.PropertyName!));
        WeakLink.Registry.Purge();
        Assert.False(((WeakLink)token).IsDetached);
        source.Raise("Y");
        Assert.Equal(["Y"], owner.Seen);
        GC.KeepAlive(owner);
        GC.KeepAlive(source);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static SafeRefs.Subscriptions.Subscription SubscribeToDroppedSource(Owner owner, out WeakReference source)
    {
        var model = new Model();
        source = new WeakReference(model);
        return WeakSubscriptions.OnPropertyChanged(model, owner, static (o, _, e) => o.Seen.Add(e.PropertyName!));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference SubscribeOwner(Model source, List<object>? root)
    {
        var owner = new Owner();

        // Without xunit's context: the gen-2 purge would post the detach to it, and these tests watch the raise do it.
        var context = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            WeakSubscriptions.OnPropertyChanged(source, owner, (o, _, e) => owner.Seen.Add(e.PropertyName!));
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(context);
        }

        root?.Add(owner);
        return new WeakReference(owner);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Model SubscribeSource(Owner owner)
    {
        var source = new Model();
        WeakSubscriptions.OnPropertyChanged(source, owner, static (o, _, e) => o.Seen.Add(e.PropertyName!));
        return source;
    }

    private sealed class Owner
    {
        public List<string> Seen { get; } = [];
    }

    private sealed class Model : INotifyPropertyChanged
    {
        public event PropertyChangedEventHandler? PropertyChanged;

        public int HandlerCount => PropertyChanged?.GetInvocationList().Length ?? 0;

        public void Raise(string name) => PropertyChanged?.Invoke(this, new PropertyChangedEventArgs(name));
    }

    private sealed class Command : ICommand
    {
        public event EventHandler? CanExecuteChanged;

        public bool CanExecute(object? parameter) => true;

        public void Execute(object? parameter)
        {
        }

        public void RaiseCanExecuteChanged() => CanExecuteChanged?.Invoke(this, EventArgs.Empty);
    }

    private sealed class ThrowingPropertyChangedSource : INotifyPropertyChanged
    {
        public event PropertyChangedEventHandler? PropertyChanged
        {
            add => throw new InvalidOperationException("add refused");
            remove => throw new InvalidOperationException("remove refused");
        }
    }
}
