// workflow/attempt_protocol.h: the one implementation of a command task's attempt, shared by
// `sluice task exec` (cli/commands/task.cpp) and the local executor's forked shim
// (local_executor.cpp), so both record the same outcome the same way.
//
// The protocol: the caller is the attempt's process-group leader. It runs `/bin/sh -c COMMAND`
// as a child with default SIGTERM/SIGINT/SIGPIPE and an empty signal mask, itself ignores
// SIGTERM and SIGINT (a graceful cancel reaches the whole group: the command decides how to
// react within the grace period, and the leader stays to record how it ended; SIGKILL ends them
// all), waits, writes the outcome file last (attempt_files.h), and exits 128+N when the command
// died of signal N, else with the command's exit code.
// Thread-safety: call in a process that forks (a freshly forked child, or `task exec`).
#pragma once

#include <filesystem>
#include <string>

namespace sluice::workflow {

// The environment variable through which an executor gives a builtin's attempt one end of a
// socket pair (its descriptor number): one byte sent there tells the executor the attempt no
// longer needs its slot (Executor::TakeReleased); the socket closing alone says nothing.
inline constexpr const char* kReleaseFdEnv = "SLUICE_RELEASE_FD";

// In an attempt, at its start: takes the release socket from the environment (removing the
// variable, and closing the descriptor on exec, so processes the attempt starts neither see nor
// hold it). -1 when there is none or the number is not an open socket.
int TakeReleaseFdFromEnvironment();

// In an attempt: says on `*fd` (from TakeReleaseFdFromEnvironment) that the attempt holds its
// slot no longer, closes it and sets it to -1. Nothing when `*fd` is -1, so a second call or an
// attempt launched without a socket is harmless.
void ReleaseAttemptSlot(int* fd);

// Runs `command` as described above; returns the exit code the attempt should exit with.
// `envp`: the command's environment (nullptr: this process's). `outcome`: where to record it
// ("" records nothing).
int RunShellAttempt(const std::string& command, char* const* envp,
                    const std::filesystem::path& outcome);

}  // namespace sluice::workflow
