// Processes: whether another one still runs (for folders and runs that record their owner's
// pid), and children forked on one thread while another thread reaps every child.
#pragma once

#include <sys/types.h>

#include <string>

namespace sluice {

// True while process `pid` exists and has not exited: a zombie (exited, not yet reaped by its
// parent, which after a kill -9 of that parent can take a while under a slow or absent init)
// is not running, nor is a pid that names no process. A process of another user counts.
bool ProcessRunning(pid_t pid);

// When process `pid` started, as an opaque token that differs for a later process reusing the
// pid: "<boot id>/<start time in clock ticks since boot>" from /proc (Linux). "" when unknown
// (no such process, no /proc). Identifies a run's scheduler across hosts (ledger/ledger.h).
std::string ProcessStartToken(pid_t pid);

// Children forked by one thread while another reaps every child with waitpid(-1) (the task
// executor, a subreaper): the forking thread calls ForkWatched(), the reaping thread hands any
// pid it does not know to OfferReapedChild(), and the forking thread finds the status with
// TakeReapedChild() when its own waitpid() says ECHILD.
//
// fork() that registers the child before the reaper can record it (-1 and errno on failure).
pid_t ForkWatched();
// Keeps `status` for `pid` if a thread forked it with ForkWatched(); false otherwise (an
// orphan that nobody waits for).
bool OfferReapedChild(pid_t pid, int status);
// The status the reaper kept for `pid` (and forgets it); false while it has none.
bool TakeReapedChild(pid_t pid, int* status);
// Stops watching `pid` (after the forking thread reaped it itself).
void ForgetWatchedChild(pid_t pid);

}  // namespace sluice
