using SafeRefs.Subscriptions;

namespace SafeRefs.Tests.Subscriptions;

/// <summary>
/// Forwarders registered by hand through <see cref="EventForwarders.Register{THandler}"/>, written as the generator
/// writes them: the tests of the registered path do not depend on the generator having run.
/// </summary>
internal static class HandForwarders
{
    static HandForwarders()
    {
        EventForwarders.Register<Weighed>(static gate => (count, name, weight) =>
        {
            if (gate.TryEnter(out var state) is Weighed handler)
            {
                try
                {
                    return handler(count, name, weight);
                }
                finally
                {
                    gate.Leave(state);
                }
            }

            return default;
        });
        EventForwarders.Register<Counted>(static gate => (ref int total, out string? label, in long stamp) =>
        {
            if (gate.TryEnter(out var state) is Counted handler)
            {
                try
                {
                    return handler(ref total, out label, in stamp);
                }
                finally
                {
                    gate.Leave(state);
                }
            }

            label = default;
            return default;
        });
        EventForwarders.Register<Action<int, string, double>>(static gate => (a, b, c) =>
        {
            if (gate.TryEnter(out var state) is Action<int, string, double> handler)
            {
                try
                {
                    handler(a, b, c);
                }
                finally
                {
                    gate.Leave(state);
                }
            }
        });
    }

    /// <summary>Makes sure the registrations above ran.</summary>
    public static void Ensure()
    {
    }
}
