namespace SafeRefs.Testing;

/// <summary>Which rule made a type a leak suspect (see <see cref="LeakReport"/>).</summary>
public enum LeakRule
{
    /// <summary>The number of live instances grew with the number of operations (or intervals).</summary>
    InstanceCount = 0,

    /// <summary>The instance count stayed steady while their bytes grew: one object that keeps growing, such as a list, a dictionary or a delegate's invocation list.</summary>
    Bytes = 1,
}
