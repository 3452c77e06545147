namespace SafeRefs.Analyzers;

/// <summary>The ids of SafeRefs' diagnostics.</summary>
public static class DiagnosticIds
{
    /// <summary>SR1001.</summary>
    public const string LongLivedSubscription = "SR1001";

    /// <summary>SR1002.</summary>
    public const string CapturingLambdaToWeakEvent = "SR1002";

    /// <summary>SR1003.</summary>
    public const string UndisposedTimer = "SR1003";

    /// <summary>SR1004.</summary>
    public const string AddOnlyStaticCollection = "SR1004";

    /// <summary>SR1005.</summary>
    public const string DiscardedCancellationRegistration = "SR1005";

    /// <summary>SR1006.</summary>
    public const string DiscardedChangeRegistration = "SR1006";

    /// <summary>SR1007.</summary>
    public const string EndlessDelayLoop = "SR1007";

    /// <summary>SR1008.</summary>
    public const string PooledObjectSubscription = "SR1008";

    /// <summary>SR1009.</summary>
    public const string RemoveWithNewLambda = "SR1009";

    /// <summary>SR1010.</summary>
    public const string CapturingWeakEventAccessor = "SR1010";

    /// <summary>SR1011.</summary>
    public const string WeakEventWithoutDeclaringType = "SR1011";

    /// <summary>SR1012.</summary>
    public const string EventWithoutForwarder = "SR1012";

    /// <summary>SR2001.</summary>
    public const string WeakEventNotPartial = "SR2001";

    /// <summary>SR2002.</summary>
    public const string WeakEventTypeNotPartial = "SR2002";

    /// <summary>SR2003.</summary>
    public const string WeakEventUnsupportedDelegate = "SR2003";

    /// <summary>SR2004.</summary>
    public const string WeakEventUnsupportedDeclaration = "SR2004";

    /// <summary>SR2005.</summary>
    public const string WeakEventBudgetNotFound = "SR2005";

    /// <summary>SR2006.</summary>
    public const string WeakEventUndefinedOption = "SR2006";
}
