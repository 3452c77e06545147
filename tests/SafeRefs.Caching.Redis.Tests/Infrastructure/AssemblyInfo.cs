// Each test class runs its own redis-server on a free loopback port, and the fault tests stop and restart theirs on
// the same port: run the classes one at a time, so no other class's server can take that port (or the machine's
// two cores) while a restart is in progress.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
