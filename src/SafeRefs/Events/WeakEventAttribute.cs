namespace SafeRefs.Events;

/// <summary>
/// Makes a <see langword="partial"/> <see langword="event"/> weak: SafeRefs' source generator writes its
/// implementing declaration, backed by a <see cref="WeakEvent{TArgs}"/> (for <see cref="EventHandler{TEventArgs}"/>)
/// or a <see cref="WeakDelegateEvent{TDelegate}"/> (any other delegate returning <see langword="void"/>), and a method
/// that raises it.
/// </summary>
/// <example>
/// <code>
/// public sealed partial class Thermometer
/// {
///     [WeakEvent]
///     public partial event EventHandler&lt;double&gt;? Changed;   // generated: accessors and private OnChanged(double)
///
///     public void Report(double celsius) =&gt; OnChanged(celsius);
/// }
/// </code>
/// </example>
/// <remarks>
/// <para>The generated event holds its handlers as <see cref="WeakEvent{TArgs}.Add"/> does: a handler's target weakly,
/// so a subscriber can be collected while subscribed; static methods and non-capturing lambdas strongly. A capturing
/// lambda is refused with an <see cref="ArgumentException"/> unless <see cref="CapturingLambdaWithoutOwner"/> is
/// <see cref="ClosurePolicy.Allow"/>.</para>
/// <para>The raise method is named <c>On</c> + the event's name unless <see cref="RaiseMethodName"/> says otherwise.
/// Its parameters follow the delegate: <c>OnChanged(T e)</c> for <see cref="EventHandler{TEventArgs}"/> (the sender
/// is <see langword="this"/>, or <see langword="null"/> for a static event), <c>OnChanged(EventArgs? e = null)</c> for
/// <see cref="EventHandler"/>, <c>OnPropertyChanged([CallerMemberName] string? propertyName = null)</c> and
/// <c>OnPropertyChanged(PropertyChangedEventArgs e)</c> for
/// <see cref="System.ComponentModel.PropertyChangedEventHandler"/>, <c>OnCollectionChanged(NotifyCollectionChangedEventArgs e)</c>
/// for <see cref="System.Collections.Specialized.NotifyCollectionChangedEventHandler"/>, and the delegate's own
/// parameters for any other delegate.</para>
/// <para>The attribute only drives the generator: it holds nothing at run time and is thread-safe.</para>
/// </remarks>
[AttributeUsage(AttributeTargets.Event, AllowMultiple = false, Inherited = false)]
public sealed class WeakEventAttribute : Attribute
{
    /// <summary>Gets or sets the name of the generated raise method.</summary>
    /// <value><see langword="null"/> by default: <c>On</c> followed by the event's name.</value>
    /// <remarks>The name must be a C# identifier that the class can declare (not the class's own name, nor one of its
    /// type parameters' names). A keyword is allowed, plain or with <c>@</c> (<c>"event"</c> or <c>"@event"</c>), and
    /// the method is then declared as <c>@event</c>. Any other name is reported as SR2004 and the event is not
    /// generated.</remarks>
    public string? RaiseMethodName { get; set; }

    /// <summary>Gets or sets the accessibility of the generated raise method.</summary>
    /// <value><see cref="RaiseMethodAccessibility.Default"/> by default: <see langword="private"/> in a sealed or static
    /// class, <see langword="protected"/> otherwise.</value>
    public RaiseMethodAccessibility RaiseMethodAccessibility { get; set; }

    /// <summary>Gets or sets what the event's <c>add</c> accessor does with a capturing lambda.</summary>
    /// <value><see cref="ClosurePolicy.Throw"/> by default, as <see cref="WeakEventOptions.CapturingLambdaWithoutOwner"/>.</value>
    public ClosurePolicy CapturingLambdaWithoutOwner { get; set; }

    /// <summary>
    /// Gets or sets the name of a static field or property of the declaring class that holds the
    /// <see cref="SafeRefs.Subscriptions.ListenerBudget"/> counting the event's handlers, as
    /// <see cref="WeakEventOptions.Budget"/>: <c>[WeakEvent(Budget = nameof(Listeners))]</c>.
    /// </summary>
    /// <value><see langword="null"/> by default: no budget. A name that is not such a member is build error SR2005.</value>
    public string? Budget { get; set; }

    /// <summary>Gets or sets what a raise does when a handler throws.</summary>
    /// <value><see cref="HandlerExceptionMode.Propagate"/> by default, as <see cref="WeakEventOptions.ExceptionMode"/>.</value>
    public HandlerExceptionMode ExceptionMode { get; set; }
}
