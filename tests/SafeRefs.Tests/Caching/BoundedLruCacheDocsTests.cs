using System.Xml.Linq;
using SafeRefs.Caching;

namespace SafeRefs.Tests.Caching;

public sealed class BoundedLruCacheDocsTests
{
    [Fact]
    public void TypeSummary_SaysThePolicyIsNotAnLru()
    {
        // The name says LRU; users reasoning from it mis-predict evictions unless the first thing they read says otherwise.
        var xml = XDocument.Load(Path.Combine(AppContext.BaseDirectory, "SafeRefs.xml"));
        var id = "T:" + typeof(BoundedLruCache<,>).FullName;
        var summary = xml.Descendants("member").Single(m => (string?)m.Attribute("name") == id).Element("summary")!.Value;
        Assert.Contains("not an LRU", summary, StringComparison.Ordinal);
        Assert.Contains("frequency", summary, StringComparison.Ordinal);
    }
}
