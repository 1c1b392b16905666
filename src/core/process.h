// Whether another process still runs, for folders and runs that record their owner's pid.
#pragma once

#include <sys/types.h>

namespace sluice {

// True while process `pid` exists and has not exited: a zombie (exited, not yet reaped by its
// parent, which after a kill -9 of that parent can take a while under a slow or absent init)
// is not running, nor is a pid that names no process. A process of another user counts.
bool ProcessRunning(pid_t pid);

}  // namespace sluice
