using System.ComponentModel;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace SafeRefs.Testing.Internal;

/// <summary>
/// The default snapshot backend: an EventPipe session with the GC heap-snapshot keywords, the technique
/// dotnet-gcdump uses. Enabling the keywords makes the runtime perform an induced, blocking gen-2 collection and
/// stream every object that survived it as bulk node events, and every type met as bulk type events. The walker
/// aggregates count and bytes per type; a loader rundown at the end of the session names each type's module.
/// </summary>
internal static class EventPipeHeapWalker
{
    // GC (0x1) | Type (0x80000) | GCHeapDump (0x100000) | GCHeapCollect (0x800000) | GCHeapAndTypeNames (0x1000000).
    private const long HeapSnapshotKeywords = (long)ClrTraceEventParser.Keywords.GCHeapSnapshot;

    // Loader (0x8) only: module names for the rundown, without the cost of enumerating every jitted method.
    private const long LoaderRundownKeyword = 0x8;

    private static readonly TimeSpan WatchdogPeriod = TimeSpan.FromMilliseconds(25);

    // Quiet periods tried in turn: most walks are complete after a short silence; the later ones are for a target
    // that is slow to reach the collection (busy, or many threads to suspend).
    private static readonly TimeSpan[] QuietPeriods =
        [TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), TimeSpan.MaxValue];

    private static readonly Lock WarmedUpLock = new();
    [System.Diagnostics.CodeAnalysis.SuppressMessage(
        "Reliability",
        "SR1004:Static collection only grows",
        Justification = "One int per inspected process id; a leak hunt inspects a handful of processes in its lifetime.")]
    private static readonly HashSet<int> WarmedUp = [];

    public static IReadOnlyList<TypeStatistics> Walk(int processId, TimeSpan timeout)
    {
        EnsureSupported();
        WarmUpOnce(processId, timeout);
        return WalkOnce(processId, timeout);
    }

    private static void EnsureSupported()
    {
        if (OperatingSystem.IsBrowser() || OperatingSystem.IsWasi() || OperatingSystem.IsIOS() ||
            OperatingSystem.IsTvOS() || OperatingSystem.IsAndroid())
        {
            throw new HeapSnapshotException(
                "Heap snapshots need the runtime's diagnostic port (EventPipe), which this platform does not offer. " +
                "Run leak hunts on Windows, Linux or macOS.");
        }
    }

    // The first session in a process allocates (EventPipe buffers, TraceEvent's parser state, type metadata):
    // a throw-away walk first keeps those allocations out of the snapshots that are compared.
    private static void WarmUpOnce(int processId, TimeSpan timeout)
    {
        lock (WarmedUpLock)
        {
            if (WarmedUp.Contains(processId))
            {
                return;
            }
        }

        _ = WalkOnce(processId, timeout);
        lock (WarmedUpLock)
        {
            WarmedUp.Add(processId);
        }
    }

    private static List<TypeStatistics> WalkOnce(int processId, TimeSpan timeout)
    {
        // The runtime hands over a session's last, partly filled buffer only when more events follow or the session
        // stops, so an idle target can hold back the end of the heap walk indefinitely. Stop the session once the
        // stream has been quiet for a while (stopping flushes everything) and check that the walk was complete; if it
        // was not (the collection had not even started), try again with a longer quiet period.
        var clock = Stopwatch.StartNew();
        foreach (TimeSpan quiet in QuietPeriods)
        {
            TimeSpan left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                break;
            }

            List<TypeStatistics>? types = WalkOnce(processId, left, quiet < left ? quiet : left);
            if (types is not null)
            {
                return types;
            }
        }

        throw new HeapSnapshotException(
            $"No complete heap walk arrived from process {processId} within {timeout.TotalSeconds:0.#} s. Raise HeapSnapshotOptions.Timeout, or check that the process is not suspended.");
    }

    private static List<TypeStatistics>? WalkOnce(int processId, TimeSpan timeout, TimeSpan quiet)
    {
        DiagnosticsClient client = new(processId);
        EventPipeProvider[] providers =
        [
            new("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, HeapSnapshotKeywords),
        ];
        var configuration = new EventPipeSessionConfiguration(providers, circularBufferSizeMB: 256, rundownKeyword: LoaderRundownKeyword, requestStackwalk: false);

        EventPipeSession session;
        try
        {
            session = client.StartEventPipeSession(configuration);
        }
        catch (ServerNotAvailableException ex)
        {
            throw Unreachable(processId, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new HeapSnapshotException(
                $"No permission to open the diagnostic port of process {processId}: run as the same user as the target (or as root/administrator).",
                ex);
        }
        catch (ServerErrorException ex)
        {
            throw new HeapSnapshotException(
                $"Process {processId} refused the EventPipe session ({ex.Message}). Heap snapshots need .NET 5 or later with diagnostics enabled.",
                ex);
        }
        catch (Win32Exception ex)
        {
            throw Unreachable(processId, ex);
        }

        using (session)
        {
            return Collect(session, processId, timeout, quiet);
        }
    }

    private static List<TypeStatistics>? Collect(EventPipeSession session, int processId, TimeSpan timeout, TimeSpan quiet)
    {
        var typeNames = new Dictionary<ulong, string>();
        var typeModules = new Dictionary<ulong, ulong>();
        var modulePaths = new Dictionary<ulong, string>();
        var nodes = new Dictionary<ulong, (long Count, long Bytes)>();

        int heapWalkGc = -1;
        var clock = Stopwatch.StartNew();
        long lastEventTicks = 0;
        int stopRequested = 0;
        bool completed = false;

        void Stop()
        {
            if (Interlocked.Exchange(ref stopRequested, 1) == 0)
            {
                // Stop() blocks until the runtime acknowledges; never call it on the thread reading the stream.
                _ = Task.Run(() =>
                {
                    try
                    {
                        session.Stop();
                    }
                    catch (ServerNotAvailableException)
                    {
                        // The target exited: the stream ends by itself.
                    }
                    catch (TimeoutException)
                    {
                        // Same: nothing left to stop.
                    }
                    catch (IOException)
                    {
                        // The pipe is already closed.
                    }
                    catch (ObjectDisposedException)
                    {
                        // The walk ended and the session was disposed first.
                    }
                });
            }
        }

        using var source = new EventPipeEventSource(session.EventStream);
        source.Clr.GCStart += data =>
        {
            Volatile.Write(ref lastEventTicks, clock.Elapsed.Ticks);
            if (heapWalkGc < 0 && data.Depth == 2 && data.Reason == GCReason.Induced)
            {
                heapWalkGc = data.Count;
            }
        };
        source.Clr.GCStop += data =>
        {
            Volatile.Write(ref lastEventTicks, clock.Elapsed.Ticks);
            if (data.Count == heapWalkGc)
            {
                completed = true;
                Stop();
            }
        };
        source.Clr.TypeBulkType += data =>
        {
            Volatile.Write(ref lastEventTicks, clock.Elapsed.Ticks);
            for (int i = 0; i < data.Count; i++)
            {
                GCBulkTypeValues value = data.Values(i);
                typeNames[value.TypeID] = value.TypeName;
                typeModules[value.TypeID] = value.ModuleID;
            }
        };
        source.Clr.GCBulkNode += data =>
        {
            Volatile.Write(ref lastEventTicks, clock.Elapsed.Ticks);
            for (int i = 0; i < data.Count; i++)
            {
                GCBulkNodeValues value = data.Values(i);
                nodes.TryGetValue(value.TypeID, out (long Count, long Bytes) total);
                nodes[value.TypeID] = (total.Count + 1, total.Bytes + (long)value.Size);
            }
        };
        var rundown = new ClrRundownTraceEventParser(source);
        rundown.LoaderModuleDCStop += data => modulePaths[(ulong)data.ModuleID] = data.ModuleILPath;

        using var watchdog = new Timer(
            _ =>
            {
                TimeSpan now = clock.Elapsed;
                if (now >= timeout || now - TimeSpan.FromTicks(Volatile.Read(ref lastEventTicks)) >= quiet)
                {
                    Stop();
                }
            },
            null,
            WatchdogPeriod,
            WatchdogPeriod);
        try
        {
            source.Process();
        }
        catch (Exception ex) when (ex is IOException or EndOfStreamException or ObjectDisposedException or FormatException)
        {
            throw new HeapSnapshotException($"The EventPipe stream from process {processId} broke off during the heap walk ({ex.Message}).", ex);
        }

        if (!completed)
        {
            return null;
        }

        return Aggregate(typeNames, typeModules, modulePaths, nodes);
    }

    private static List<TypeStatistics> Aggregate(
        Dictionary<ulong, string> typeNames,
        Dictionary<ulong, ulong> typeModules,
        Dictionary<ulong, string> modulePaths,
        Dictionary<ulong, (long Count, long Bytes)> nodes)
    {
        var byName = new Dictionary<(string Name, string Assembly), (long Count, long Bytes)>();
        foreach (KeyValuePair<ulong, (long Count, long Bytes)> node in nodes)
        {
            string name = typeNames.TryGetValue(node.Key, out string? typeName) && typeName.Length > 0
                ? typeName
                : $"<unknown type 0x{node.Key:x}>";
            string assembly = typeModules.TryGetValue(node.Key, out ulong module) && modulePaths.TryGetValue(module, out string? path)
                ? AssemblyNameOf(path)
                : string.Empty;
            byName.TryGetValue((name, assembly), out (long Count, long Bytes) total);
            byName[(name, assembly)] = (total.Count + node.Value.Count, total.Bytes + node.Value.Bytes);
        }

        var result = new List<TypeStatistics>(byName.Count);
        foreach (KeyValuePair<(string Name, string Assembly), (long Count, long Bytes)> entry in byName)
        {
            result.Add(new TypeStatistics(entry.Key.Name, entry.Key.Assembly, entry.Value.Count, entry.Value.Bytes));
        }

        return result;
    }

    private static string AssemblyNameOf(string path)
    {
        int slash = Math.Max(path.LastIndexOf('/'), path.LastIndexOf('\\'));
        string file = path[(slash + 1)..];
        return file.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".exe", StringComparison.OrdinalIgnoreCase)
            ? file[..^4]
            : file;
    }

    private static HeapSnapshotException Unreachable(int processId, Exception inner) =>
        new(
            $"Cannot reach the diagnostic port of process {processId}: it must be a .NET 5+ process of the same user, started without DOTNET_EnableDiagnostics=0, and share this process's TMPDIR (Linux/macOS).",
            inner);
}
