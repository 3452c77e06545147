namespace SafeRefs.Tests.Subscriptions;

/// <summary>An event shape registered by the generator alone (no hand-written forwarder).</summary>
public delegate void Quoted(string symbol, decimal price, long stamp);
