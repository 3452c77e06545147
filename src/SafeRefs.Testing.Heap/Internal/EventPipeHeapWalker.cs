using System.ComponentModel;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
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

    // GC (0x1): enables the runtime provider in the flush session (see FlushTypeTable) without inducing a collection.
    private const long FirstSessionKeyword = 0x1;

    // GC (0x1) | GCHeapCollect (0x800000): an induced blocking gen-2 collection, without the heap dump.
    private const long WarmUpKeywords = 0x800001;

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

    // A walk that lost events is retried this many times before the capture fails.
    private const int LossRetries = 2;

    /// <summary>Gets or sets a test hook that runs after each complete attempt; returning true discards it as incomplete.</summary>
    internal static Func<bool>? DiscardAttempt { get; set; }

    public static WalkResult Walk(int processId, TimeSpan timeout, bool recordGraph = false, bool warmUp = true)
    {
        EnsureSupported();
        if (warmUp)
        {
            WarmUpOnce(processId, timeout);
        }

        return WalkOnce(processId, timeout, recordGraph);
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

    // The first sessions in a process leave objects behind that the next collections clear (reflection stubs of the
    // runtime's event source, a few hundred objects). Before the first of several snapshots that are compared, one
    // collection clears them. In process, it is a throw-away walk, which also makes TraceEvent's own first-use
    // allocations in the heap it walks; in another process, whose heap TraceEvent does not touch, it is a plain
    // induced collection without the heap dump, much cheaper than a walk.
    private static void WarmUpOnce(int processId, TimeSpan timeout)
    {
        lock (WarmedUpLock)
        {
            if (WarmedUp.Contains(processId))
            {
                return;
            }
        }

        if (processId == Environment.ProcessId)
        {
            _ = WalkOnce(processId, timeout, recordGraph: false);
        }
        else
        {
            StartAndStop(new DiagnosticsClient(processId), processId, [new("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, WarmUpKeywords)]);
        }

        lock (WarmedUpLock)
        {
            WarmedUp.Add(processId);
        }
    }

    private static WalkResult WalkOnce(int processId, TimeSpan timeout, bool recordGraph)
    {
        // The runtime hands over a session's last, partly filled buffer only when more events follow or the session
        // stops, so an idle target can hold back the end of the heap walk indefinitely. Stop the session once the
        // stream has been quiet for a while (stopping flushes everything) and check that the walk was complete; if it
        // was not (the collection had not even started), try again with a longer quiet period. A walk that lost
        // events is never used: it is tried again, and reported if it keeps losing them.
        var clock = Stopwatch.StartNew();
        int losses = 0;
        string? loss = null;
        int quietIndex = 0;
        while (quietIndex < QuietPeriods.Length)
        {
            TimeSpan left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                break;
            }

            if (processId == Environment.ProcessId)
            {
                DrainFinalizers();
            }

            TimeSpan quiet = QuietPeriods[quietIndex];
            Attempt attempt = WalkOnce(processId, left, quiet < left ? quiet : left, recordGraph);
            if (attempt.Loss is not null)
            {
                loss = attempt.Loss;
                if (++losses > LossRetries)
                {
                    break;
                }

                continue;
            }

            if (attempt.Result is not null)
            {
                return attempt.Result;
            }

            quietIndex++;
        }

        throw new HeapSnapshotException(loss is not null
            ? $"The heap walk of process {processId} was incomplete {losses} time(s) in a row ({loss}); a snapshot would undercount, so none was taken. Retry when the process is less busy, or raise HeapSnapshotOptions.Timeout."
            : $"No complete heap walk arrived from process {processId} within {timeout.TotalSeconds:0.#} s. Raise HeapSnapshotOptions.Timeout, or check that the process is not suspended.");
    }

    // Objects that are unreachable but finalizable survive a collection: the finalizer queue roots them, and the walk
    // counts them with everything they reference. Among them are the target's own garbage and, in process, TraceEvent's
    // parser objects of an earlier walk (a warm-up or a discarded attempt), which reach that walk's event source and
    // handlers with its type table: thousands of strings that would read as growth. Collect and finalize them first.
    private static void DrainFinalizers()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    private static Attempt WalkOnce(int processId, TimeSpan timeout, TimeSpan quiet, bool recordGraph)
    {
        DiagnosticsClient client = new(processId);
        FlushTypeTable(client, processId);
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
            return Collect(session, processId, timeout, quiet, recordGraph);
        }
    }

    // As dotnet-gcdump does: a short session that starts and stops makes the runtime forget which types it has already
    // described, so the walk's session describes every type again even when another session (an APM agent, an
    // in-process EventListener) keeps type events on. Without it those types would show as "<unknown type 0x…>".
    // The session also enables the runtime provider: the first time that happens in a process, the runtime builds its
    // managed event metadata (about 3,400 objects, kept for good). Built here, before the walk's collection, they are
    // in the very first snapshot of a process too, instead of reading as growth between the first and the second.
    private static void FlushTypeTable(DiagnosticsClient client, int processId) =>
        StartAndStop(client, processId,
        [
            new("Microsoft-DotNETCore-SampleProfiler", EventLevel.Informational),
            new("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, FirstSessionKeyword),
        ]);

    /// <summary>Starts a session with <paramref name="providers"/> and stops it at once, discarding its events.</summary>
    private static void StartAndStop(DiagnosticsClient client, int processId, EventPipeProvider[] providers)
    {
        EventPipeSession session;
        try
        {
            session = client.StartEventPipeSession(providers, requestRundown: false, circularBufferMB: 16);
        }
        catch (ServerNotAvailableException ex)
        {
            throw Unreachable(processId, ex);
        }
        catch (Win32Exception ex)
        {
            throw Unreachable(processId, ex);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or ServerErrorException)
        {
            // The walk's own session reports these with the right message.
            return;
        }

        using (session)
        {
            Task drain = session.EventStream.CopyToAsync(Stream.Null);
            try
            {
                session.Stop();
                _ = drain.Wait(TimeSpan.FromSeconds(5));
            }
            catch (Exception ex) when (ex is ServerNotAvailableException or TimeoutException or IOException or ObjectDisposedException or AggregateException)
            {
                // The target exited or the pipe closed: the walk's session reports it.
            }
        }
    }

    private static Attempt Collect(EventPipeSession session, int processId, TimeSpan timeout, TimeSpan quiet, bool recordGraph)
    {
        var types = new TypeTable();
        var modulePaths = new Dictionary<ulong, string>();
        var nodes = new Dictionary<ulong, (long Count, long Bytes)>();
        GraphBuilder? graph = recordGraph ? new GraphBuilder() : null;

        // The walk is the collection the session induced: a blocking gen-2 collection whose reason is "induced". An
        // app's own GC.Collect() looks the same, so a latched collection that ended without streaming any object is
        // let go, and the next one is awaited. Bulk events carry a sequence number per collection: a gap means the
        // runtime dropped a buffer.
        int heapWalkGc = -1;
        bool inWalk = false;
        long nodesInWalk = 0;
        int nextNodeIndex = 0;
        int nextEdgeIndex = 0;
        int lostBeforeWalk = 0;
        int lostInWalk = 0;
        string? gap = null;
        bool completed = false;

        // The handlers below capture this method's tables; the watchdog and the stopping task get only the stopper.
        var stopper = new WalkStopper(session, timeout, quiet);

        using var source = new EventPipeEventSource(session.EventStream);

        // Events lost outside the walk (a busy app's other GC events) do not matter; losses while it streams do.
        source.Clr.GCStart += data =>
        {
            stopper.Touch();
            if (heapWalkGc < 0 && data.Depth == 2 && data.Reason == GCReason.Induced)
            {
                heapWalkGc = data.Count;
                lostBeforeWalk = source.EventsLost;
                inWalk = true;
                nodesInWalk = 0;
                nextNodeIndex = 0;
                nextEdgeIndex = 0;
            }
        };
        source.Clr.GCStop += data =>
        {
            stopper.Touch();
            if (data.Count != heapWalkGc)
            {
                return;
            }

            inWalk = false;
            lostInWalk = source.EventsLost - lostBeforeWalk;
            if (nodesInWalk == 0)
            {
                // Another induced collection (the app's): not the walk. Wait for the next one.
                heapWalkGc = -1;
                graph?.Clear();
                return;
            }

            completed = true;
            stopper.Stop();
        };
        source.Clr.TypeBulkType += data =>
        {
            stopper.Touch();
            for (int i = 0; i < data.Count; i++)
            {
                GCBulkTypeValues value = data.Values(i);
                types.Add(value.TypeID, value.TypeName, value.ModuleID, value.TypeNameID,
                    (value.Flags & TypeFlags.Array) != 0 && value.TypeParameterCount == 1 ? value.TypeParameterID(0) : 0);
            }
        };
        source.Clr.GCBulkNode += data =>
        {
            stopper.Touch();
            if (!inWalk)
            {
                return;
            }

            if (data.Index != nextNodeIndex)
            {
                gap ??= $"object batch {nextNodeIndex} of the walk never arrived (got batch {data.Index})";
            }

            nextNodeIndex = data.Index + 1;
            for (int i = 0; i < data.Count; i++)
            {
                GCBulkNodeValues value = data.Values(i);
                nodes.TryGetValue(value.TypeID, out (long Count, long Bytes) total);
                nodes[value.TypeID] = (total.Count + 1, total.Bytes + (long)value.Size);
                graph?.AddNode(value.Address, value.TypeID, (long)value.Size, (int)value.EdgeCount);
            }

            nodesInWalk += data.Count;
        };
        if (graph is not null)
        {
            source.Clr.GCBulkEdge += data =>
            {
                stopper.Touch();
                if (!inWalk)
                {
                    return;
                }

                if (data.Index != nextEdgeIndex)
                {
                    gap ??= $"reference batch {nextEdgeIndex} of the walk never arrived (got batch {data.Index})";
                }

                nextEdgeIndex = data.Index + 1;
                for (int i = 0; i < data.Count; i++)
                {
                    graph.AddEdge(data.Values(i).Target);
                }
            };
            source.Clr.GCBulkRootEdge += data =>
            {
                stopper.Touch();
                if (!inWalk)
                {
                    return;
                }

                for (int i = 0; i < data.Count; i++)
                {
                    GCBulkRootEdgeValues value = data.Values(i);
                    graph.AddRoot(value.RootedNodeAddress, value.GCRootKind, value.GCRootFlag);
                }
            };
            source.Clr.GCBulkRootStaticVar += data =>
            {
                stopper.Touch();
                if (!inWalk)
                {
                    return;
                }

                for (int i = 0; i < data.Count; i++)
                {
                    GCBulkRootStaticVarValues value = data.Values(i);
                    graph.AddStatic(value.ObjectID, value.TypeID, value.FieldName);
                }
            };
            source.Clr.GCBulkRootConditionalWeakTableElementEdge += data =>
            {
                stopper.Touch();
                if (!inWalk)
                {
                    return;
                }

                for (int i = 0; i < data.Count; i++)
                {
                    GCBulkRootConditionalWeakTableElementEdgeValues value = data.Values(i);
                    graph.AddDependent(value.GCKeyNodeID, value.GCValueNodeID);
                }
            };
        }

        var rundown = new ClrRundownTraceEventParser(source);
        rundown.LoaderModuleDCStop += data => modulePaths[(ulong)data.ModuleID] = data.ModuleILPath;

        using var watchdog = new Timer(static state => ((WalkStopper)state!).Check(), stopper, WatchdogPeriod, WatchdogPeriod);
        try
        {
            source.Process();
        }
        catch (Exception ex) when (ex is IOException or EndOfStreamException or ObjectDisposedException or FormatException)
        {
            throw new HeapSnapshotException($"The EventPipe stream from process {processId} broke off during the heap walk ({ex.Message}).", ex);
        }

        if (lostInWalk > 0 || gap is not null)
        {
            return new Attempt(null, gap ?? $"{lostInWalk:N0} events were lost while the heap was streamed");
        }

        if (!completed || DiscardAttempt?.Invoke() == true)
        {
            return new Attempt(null, null);
        }

        using var metadata = new ModuleMetadata([.. modulePaths.Values.Distinct(StringComparer.Ordinal)]);
        Dictionary<ulong, string> names = types.ResolveNames(modulePaths, metadata);
        List<TypeStatistics> statistics = Aggregate(names, types, modulePaths, nodes);
        return new Attempt(new WalkResult(statistics, graph?.Build(names, metadata)), null);
    }

    private static List<TypeStatistics> Aggregate(
        Dictionary<ulong, string> names,
        TypeTable types,
        Dictionary<ulong, string> modulePaths,
        Dictionary<ulong, (long Count, long Bytes)> nodes)
    {
        // One row per type: distinct types never share a row, even if their names coincide (the same type loaded
        // twice, or a module whose metadata could not be read): the later ones get " (#2)", " (#3)" in TypeID order.
        var byName = new Dictionary<(string Name, string Assembly), (long Count, long Bytes, ulong TypeId)>();
        var result = new List<TypeStatistics>(nodes.Count);
        foreach (KeyValuePair<ulong, (long Count, long Bytes)> node in nodes.OrderBy(n => n.Key))
        {
            string name = names.TryGetValue(node.Key, out string? typeName) ? typeName : TypeTable.Unknown(node.Key);
            string assembly = types.ModuleOf(node.Key) is ulong module && modulePaths.TryGetValue(module, out string? path)
                ? AssemblyNameOf(path)
                : string.Empty;
            string unique = name;
            for (int n = 2; byName.ContainsKey((unique, assembly)); n++)
            {
                unique = string.Create(CultureInfo.InvariantCulture, $"{name} (#{n})");
            }

            byName[(unique, assembly)] = (node.Value.Count, node.Value.Bytes, node.Key);
            names[node.Key] = unique;
            result.Add(new TypeStatistics(unique, assembly, node.Value.Count, node.Value.Bytes));
        }

        return result;
    }

    internal static string AssemblyNameOf(string path)
    {
        int slash = Math.Max(path.LastIndexOf('/'), path.LastIndexOf('\\'));
        string file = path[(slash + 1)..];
        return file.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".exe", StringComparison.OrdinalIgnoreCase)
            ? file[..^4]
            : file;
    }

    private sealed record Attempt(WalkResult? Result, string? Loss);

    private static HeapSnapshotException Unreachable(int processId, Exception inner) =>
        new(
            $"Cannot reach the diagnostic port of process {processId}: it must be a .NET 5+ process of the same user, started without DOTNET_EnableDiagnostics=0, and share this process's TMPDIR (Linux/macOS).",
            inner);
}
