namespace SafeRefs.Analyzers.WeakEvents;

/// <summary>The delegate shapes the <c>[WeakEvent]</c> generator writes a dedicated raise method for.</summary>
internal enum WeakEventShape
{
    /// <summary>Any other delegate returning void: raised with the delegate's own parameters.</summary>
    Custom,

    /// <summary><see cref="System.EventHandler"/>.</summary>
    EventHandler,

    /// <summary><c>System.EventHandler&lt;TEventArgs&gt;</c>: backed by <c>WeakEvent&lt;TArgs&gt;</c>.</summary>
    GenericEventHandler,

    /// <summary><c>PropertyChangedEventHandler</c>: gets a <c>[CallerMemberName]</c> helper.</summary>
    PropertyChanged,

    /// <summary><c>NotifyCollectionChangedEventHandler</c>.</summary>
    CollectionChanged,
}
