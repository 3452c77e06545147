namespace SafeRefs.Diagnostics.Internal;

/// <summary>
/// Source-generated log messages. Each area adds its methods in a partial file <c>Log.&lt;Area&gt;.cs</c> with
/// stable event ids in its own range: Subscriptions 1000–1099, Events 1100–1199, Timers 1200–1299,
/// Pooling 1300–1399, Caching 1400–1499, the telemetry itself 1500–1599.
/// </summary>
internal static partial class Log
{
}
