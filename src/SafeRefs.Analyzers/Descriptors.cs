using Microsoft.CodeAnalysis;

namespace SafeRefs.Analyzers;

/// <summary>The diagnostic descriptors of SafeRefs' analyzers (SR1001-SR1012) and of the [WeakEvent] generator (SR2001-SR2006).</summary>
public static class Descriptors
{
    private const string Category = "Reliability";
    private const string HelpRoot = "https://github.com/saferefs/saferefs/blob/main/docs/analyzers/";

    /// <summary>SR1001: a long-lived event source is subscribed to and never unsubscribed.</summary>
    public static readonly DiagnosticDescriptor SR1001 = Create(
        DiagnosticIds.LongLivedSubscription,
        "Subscription to a long-lived event source is never removed",
        "'{0}' is subscribed on a static or statically reachable source and '{1}' never removes it: {2}",
        "A member adds a handler that can root something to an event of a static member (or of an object reached from one), and the type has no matching '-='. From an instance member, a handler that uses 'this' keeps every instance alive; from a static member that can run more than once, every call adds a handler that keeps what it captures (or the object its method is bound to) alive. Use Subscribe.Event(...) in a SubscriptionBag, WeakSubscriptions or a WeakEvent, or subscribe once.");

    /// <summary>SR1002: a capturing lambda passed to <c>WeakEvent&lt;T&gt;.Add</c>.</summary>
    public static readonly DiagnosticDescriptor SR1002 = Create(
        DiagnosticIds.CapturingLambdaToWeakEvent,
        "Capturing lambda passed to WeakEvent.Add",
        "This lambda captures {0}: WeakEvent.Add holds its target weakly, so it throws (or, in other weak-event libraries, silently stops firing); use Subscribe(owner, static ...)",
        "A lambda that captures locals, parameters or 'this' has a target nothing else roots (or depends on compiler lowering). Subscribe(owner, static (owner, sender, args) => ...) ties the handler's lifetime to its owner explicitly.");

    /// <summary>SR1003: a timer created and discarded, or kept only in a local that is never disposed.</summary>
    public static readonly DiagnosticDescriptor SR1003 = Create(
        DiagnosticIds.UndisposedTimer,
        "Timer is never disposed",
        "This {0} is {1} and never disposed: it can keep firing (and rooting its callback) after its owner is gone",
        "A System.Threading.Timer, System.Timers.Timer, PeriodicTimer or TimeProvider.CreateTimer timer that is discarded, or kept only in a local that is never disposed, cannot be stopped. Use a TimerScope, or keep and dispose the timer.");

    /// <summary>SR1004: a static collection the compilation only ever adds to.</summary>
    public static readonly DiagnosticDescriptor SR1004 = Create(
        DiagnosticIds.AddOnlyStaticCollection,
        "Static collection only grows",
        "Static field '{0}' is only ever added to (no Remove, TryRemove, Clear or reassignment): an unbounded cache",
        "A static field of a mutable collection type that the compilation adds to and never removes from grows for the life of the process. Use BoundedLruCache<TKey, TValue>.",
        customTags: WellKnownDiagnosticTags.CompilationEnd);

    /// <summary>SR1005: the result of <c>CancellationToken.Register</c> is discarded.</summary>
    public static readonly DiagnosticDescriptor SR1005 = Create(
        DiagnosticIds.DiscardedCancellationRegistration,
        "CancellationToken registration is discarded",
        "The result of '{0}' is discarded: the callback and everything it captures stay rooted until the token's source is cancelled or disposed",
        "Dispose the CancellationTokenRegistration (using var, a field disposed with its owner, or Subscribe.OnCancel(...).DisposeWith(bag)). Registering on a token whose CancellationTokenSource is created and disposed in the same method is fine.");

    /// <summary>SR1006: the result of <c>ChangeToken.OnChange</c> / <c>IOptionsMonitor&lt;T&gt;.OnChange</c> is discarded.</summary>
    public static readonly DiagnosticDescriptor SR1006 = Create(
        DiagnosticIds.DiscardedChangeRegistration,
        "Change-token registration is discarded",
        "The result of '{0}' is discarded: the consumer stays registered (and rooted) for the producer's lifetime",
        "ChangeToken.OnChange and IOptionsMonitor<T>.OnChange return an IDisposable that is the only way to stop the listener. Keep it and dispose it with its owner, or DisposeWith(bag).");

    /// <summary>SR1007: an endless loop around <c>await Task.Delay</c> that uses <c>this</c> or captured state.</summary>
    public static readonly DiagnosticDescriptor SR1007 = Create(
        DiagnosticIds.EndlessDelayLoop,
        "Endless delay loop roots its owner",
        "This endless loop awaits Task.Delay and uses {0}: the timer queue keeps it alive forever",
        "A 'while (true) { await Task.Delay(...); ... }' loop with no exit, no cancellation and no break keeps what it uses (its owner 'this', or the locals, parameters and closure variables it reads) reachable from the timer queue. Use TimerScope.Loop(owner, ...), which holds the owner weakly, or pass a cancellation token.");

    /// <summary>SR1008: <c>+=</c> on a pooled object without a matching <c>-=</c> before it is returned.</summary>
    public static readonly DiagnosticDescriptor SR1008 = Create(
        DiagnosticIds.PooledObjectSubscription,
        "Handler added to a pooled object is never removed",
        "'{0}' is subscribed on an object rented from an ObjectPool with no matching '-=': every rental adds one more handler",
        "An object from ObjectPool<T>.Get() is reused by later renters; handlers added during one use accumulate. Remove them before Return, or use GuardedObjectPool<T>.Rent() and lease.On(...).");

    /// <summary>SR1009: <c>-=</c> with a fresh lambda, which never removes anything.</summary>
    public static readonly DiagnosticDescriptor SR1009 = Create(
        DiagnosticIds.RemoveWithNewLambda,
        "Removing a handler with a new lambda does nothing",
        "'-=' with a new lambda never matches the handler that was added: '{0}' keeps its subscriber",
        "Each lambda expression creates a new delegate, and delegate removal compares target and method, so '-= (s, e) => ...' removes nothing. Keep the handler in a field or local, use a method group, or keep the Subscription.");

    /// <summary>SR1010: an <c>add</c>/<c>remove</c> accessor passed to <c>Subscribe.WeakEvent</c> that captures (or is bound to an object).</summary>
    public static readonly DiagnosticDescriptor SR1010 = Create(
        DiagnosticIds.CapturingWeakEventAccessor,
        "Capturing add/remove accessor passed to Subscribe.WeakEvent",
        "The '{0}' accessor captures {1}: Subscribe.WeakEvent keeps it for as long as the source lives and refuses it at run time (ArgumentException); use 'static (source, handler) => source.Event {2} handler'",
        "Subscribe.WeakEvent holds its owner weakly, but keeps the add and remove delegates strongly until the subscription ends, so it refuses, with an ArgumentException, any accessor that captures variables or 'this' or is an instance method group: written inside the owner, '(f, h) => _feed.Changed -= h' would root the owner through the source. Use the source parameter in a static lambda (or a static method).");

    /// <summary>SR1011: a weak event with a listener budget and no <c>DeclaringType</c>.</summary>
    public static readonly DiagnosticDescriptor SR1011 = Create(
        DiagnosticIds.WeakEventWithoutDeclaringType,
        "Weak event with a budget does not name its class",
        "This {0} has a listener budget but no DeclaringType: its warnings, refusals and metric tag name '{0}', not '{1}'; set DeclaringType = typeof({1})",
        "WeakEventOptions.DeclaringType is the class a listener budget names when it warns about, or refuses, too many handlers, and the saferefs.source.type tag of saferefs.listener.budget.exceeded. Without it they name the weak event's own type, the same for every weak event in the application, so an alarm cannot say which class leaks.");

    /// <summary>SR2001: <c>[WeakEvent]</c> on an event that is not a <c>partial event</c> declaration.</summary>
    public static readonly DiagnosticDescriptor SR2001 = CreateError(
        DiagnosticIds.WeakEventNotPartial,
        "[WeakEvent] needs a partial event",
        "'{0}' must be declared 'partial event' without accessors for [WeakEvent] to implement it",
        "The generator writes the implementing declaration of a C# 14 partial event. Declare the event as 'public partial event EventHandler<T>? Name;' (no accessors, no initializer).");

    /// <summary>SR2002: <c>[WeakEvent]</c> in a type (or a containing type) that is not partial.</summary>
    public static readonly DiagnosticDescriptor SR2002 = CreateError(
        DiagnosticIds.WeakEventTypeNotPartial,
        "[WeakEvent] needs a partial type",
        "Type '{0}' must be declared 'partial' for [WeakEvent] to add the implementation of '{1}'",
        "The generated accessors, backing field and raise method go into another part of the type: the type and every type containing it must be partial.");

    /// <summary>SR2003: <c>[WeakEvent]</c> on an event whose delegate type cannot be raised weakly.</summary>
    public static readonly DiagnosticDescriptor SR2003 = CreateError(
        DiagnosticIds.WeakEventUnsupportedDelegate,
        "[WeakEvent] does not support this delegate type",
        "'{0}' cannot be a weak event: {1}",
        "A weak event can have any delegate type that returns void and takes its parameters by value (no ref, out or in parameters, no ref structs or pointers): each handler is called in turn and nothing is returned.");

    /// <summary>SR2004: <c>[WeakEvent]</c> where a weak backing makes no sense.</summary>
    public static readonly DiagnosticDescriptor SR2004 = CreateError(
        DiagnosticIds.WeakEventUnsupportedDeclaration,
        "[WeakEvent] cannot be used here",
        "'{0}' cannot be a weak event: {1}",
        "[WeakEvent] implements an event of a class with a backing weak event. Interfaces, structs, and abstract, virtual or override events have no place for it (a struct's copies would each hold their own handlers); a member of the class with the name of a generated field, or with the raise method's name and parameter types, would be declared twice, and an accessible one of a base class would be hidden. RaiseMethodName must be a C# identifier (a keyword is written escaped).");

    /// <summary>SR2005: <c>[WeakEvent(Budget = ...)]</c> names no static <c>ListenerBudget</c> member of the declaring class.</summary>
    public static readonly DiagnosticDescriptor SR2005 = CreateError(
        DiagnosticIds.WeakEventBudgetNotFound,
        "[WeakEvent] Budget names no budget",
        "'{0}' cannot use Budget = \"{1}\": {2}",
        "Budget names a static field or property of type SafeRefs.Subscriptions.ListenerBudget declared in the event's class (or a base or containing class), which the generated event counts its handlers with: write Budget = nameof(Member).");

    /// <summary>SR2006: <c>[WeakEvent]</c> with an option set to a value its enum does not define.</summary>
    public static readonly DiagnosticDescriptor SR2006 = CreateError(
        DiagnosticIds.WeakEventUndefinedOption,
        "[WeakEvent] option has an undefined value",
        "'{0}' cannot use {1} = {2}: {3} defines no such value",
        "The generated event's options are created once for the class, and the options refuse a value their enum does not define: the class would fail to initialize at its first use. Use one of the enum's named values.");

    /// <summary>SR1012: <c>Subscribe.Event</c> on a delegate type that gets no generated forwarder.</summary>
    public static readonly DiagnosticDescriptor SR1012 = Create(
        DiagnosticIds.EventWithoutForwarder,
        "Event delegate type has no generated forwarder",
        "No generated forwarder for '{0}': {1}. Unless one is registered with EventForwarders.Register, a raise that read the event's delegate before Dispose (or the lease's end) may still start the handler after it.",
        "Subscribe.Event (and a pool lease's On) keeps 'no invocation starts after Dispose returns' for delegate types it forwards by itself and for those with a registered forwarder; the SafeRefs generator registers one for every concrete delegate type it sees at a call site. For a type parameter, a type generated code cannot name, or a delegate returning by reference, register a forwarder by hand with EventForwarders.Register<THandler> (see its documentation), or use a delegate type the generator can see.");

    private static DiagnosticDescriptor Create(string id, string title, string message, string description, params string[] customTags) =>
        new(id, title, message, Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, description, HelpRoot + id + ".md", customTags);

    private static DiagnosticDescriptor CreateError(string id, string title, string message, string description) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true, description, HelpRoot + id + ".md");
}
