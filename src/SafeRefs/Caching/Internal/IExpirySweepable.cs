namespace SafeRefs.Caching.Internal;

/// <summary>A cache whose expired entries a <see cref="ExpirySweeper"/> removes periodically.</summary>
internal interface IExpirySweepable
{
    void SweepExpired();
}
