using System.ComponentModel;
using System.Runtime.CompilerServices;
using SafeRefs.Events;
using SafeRefs.Internal;
using SafeRefs.Testing;
using SafeRefs.Tests.Infrastructure;

namespace SafeRefs.Tests.Events;

[Collection(GcCollection.Name)]
public sealed class WeakDelegateEventCollectionTests
{
    [Fact]
    public void PropertyChanged_SubscriberDropped_IsCollectedWhileModelLives()
    {
        var model = new Model();
        var view = AttachView(model, root: null);
        GcAssert.Collected(view, "the model holds its PropertyChanged handlers' targets weakly");
        model.Raise("Name");
        Assert.Equal(0, model.ListenerCount);
        GC.KeepAlive(model);
    }

    [Fact]
    public void PropertyChanged_SubscriberRooted_ControlTwin_StaysAndFires()
    {
        var model = new Model();
        var root = new List<object>();
        var view = AttachView(model, root);
        GcAssert.NotCollected(view, "the test roots the view");
        model.Raise("Name");
        Assert.Equal(1, ((View)root[0]).Calls);
        Assert.Equal(1, model.ListenerCount);
        GC.KeepAlive(root);
        GC.KeepAlive(model);
    }

    [Fact]
    public void Subscribe_OwnerDropped_OwnerAndCapturedStateAreCollected()
    {
        var changed = new WeakDelegateEvent<EventHandler>();
        var (owner, captured) = SubscribeCapturing(changed, root: null);
        GcAssert.Collected(owner, "the handler captures the owner, but the ephemeron does not root it");
        GcAssert.Collected(captured, "the handler's captures live only as long as the owner");
        changed.Raise(null, EventArgs.Empty);
        Assert.Equal(0, changed.Count);
        GC.KeepAlive(changed);
    }

    [Fact]
    public void Subscribe_OwnerRooted_ControlTwin_CapturedStateLivesAndFires()
    {
        var changed = new WeakDelegateEvent<EventHandler>();
        var root = new List<object>();
        var (owner, captured) = SubscribeCapturing(changed, root);
        GcAssert.NotCollected(captured, "the owner lives, so its bound handler must live");
        GcAssert.NotCollected(owner, "the test roots the owner");
        changed.Raise(null, EventArgs.Empty);
        Assert.Equal(1, ((View)root[0]).Calls);
        GC.KeepAlive(root);
        GC.KeepAlive(changed);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference AttachView(Model model, List<object>? root)
    {
        var view = new View();
        model.PropertyChanged += view.OnChanged;
        root?.Add(view);
        return new WeakReference(view);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference Owner, WeakReference Captured) SubscribeCapturing(WeakDelegateEvent<EventHandler> changed, List<object>? root)
    {
        var owner = new View();
        var captured = new object();
        _ = changed.Subscribe(owner, (_, _) =>
        {
            GC.KeepAlive(captured);
            owner.Calls++;
        });
        root?.Add(owner);
        return (new WeakReference(owner), new WeakReference(captured));
    }

    private sealed class Model : INotifyPropertyChanged
    {
        private readonly WeakDelegateEvent<PropertyChangedEventHandler> _propertyChanged = new();

        public event PropertyChangedEventHandler? PropertyChanged
        {
            add => _propertyChanged.Add(value);
            remove => _propertyChanged.Remove(value);
        }

        public int ListenerCount => _propertyChanged.Count;

        public void Raise(string name) => _propertyChanged.Raise(this, new PropertyChangedEventArgs(name));
    }

    private sealed class View
    {
        public int Calls { get; set; }

        public void OnChanged(object? sender, PropertyChangedEventArgs e) => Calls++;
    }
}
