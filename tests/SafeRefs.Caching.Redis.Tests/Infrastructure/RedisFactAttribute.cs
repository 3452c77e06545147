namespace SafeRefs.Caching.Redis.Tests.Infrastructure;

/// <summary>
/// A <see cref="FactAttribute"/> for tests that need a real <c>redis-server</c>: skipped, with the install command,
/// when it is not on the PATH, except under CI (<c>CI=true</c>), where the tests are mandatory and a missing
/// server fails them.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RedisFactAttribute : FactAttribute
{
    public RedisFactAttribute()
    {
        if (RedisServerFixture.ServerPath is null && !RedisServerFixture.IsCi)
        {
            Skip = RedisServerFixture.InstallHint;
        }
    }
}
