namespace SafeRefs.Tests.Subscriptions;

/// <summary>An event shape no built-in forwarder covers: three arguments and a result.</summary>
public delegate bool Weighed(int count, string name, double weight);
