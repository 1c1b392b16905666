// workflow/ready_queue.h: the order in which the run loop (driver.cpp) starts queued instances.
//
// An instance waits until its `not_before` (now, or the end of a retry's backoff). Among those
// due, the one with the longest estimated remaining work starts first: its own estimated
// duration plus the longest chain of estimated durations of the tasks downstream of its task
// (the "bottom level" of list scheduling, so a short task that gates long ones, an extract
// before its merges, is not starved by long ones that gate nothing). With parallelism below the
// number of ready instances, starting the long ones first keeps the run from ending with one
// long attempt alone on one core while the other cores idle.
//
// Estimates, generic and never from names:
//  - per instance: the duration of the same (task, partner)'s successful attempt in the
//    previous run (SetInstanceHint), which also orders the instances of one task;
//  - per task: the mean duration of the task's successful attempts, from the previous run and
//    from the attempts of this run as they end (Observe); a task with none yet counts as the
//    longest task seen, so one of its instances starts early and gives it an estimate.
// Without any estimate (a first run, before any attempt ended) every priority is 0 and the order
// is the workflow's (instance index), as before.
//
// Cost per Pop: O(number of tasks + log n); per Observe: O(task edges). No step walks every
// instance. Thread-safety: none; one run loop owns it.
#pragma once

#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "core/clock.h"

namespace sluice::workflow {

class ReadyQueue {
 public:
  // `task_of[i]`: the task (0..tasks-1) of instance i; `task_dependents[t]`: the tasks that
  // depend on task t (the workflow's edges, acyclic).
  ReadyQueue(std::vector<int> task_of, std::vector<std::vector<int>> task_dependents);

  // Queues instance i, startable from `not_before` on. An instance is queued at most once.
  void Push(int i, Clock::TimePoint not_before);
  // Takes out a queued instance (e.g. when a run stops); false when it was not queued.
  bool Remove(int i);
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  // The soonest `not_before` among the queued instances (nullopt when empty).
  std::optional<Clock::TimePoint> Soonest() const;
  // Removes and returns the due instance (not_before <= now) to start first; -1 when none is
  // due.
  int PopDue(Clock::TimePoint now);

  // The duration instance i took in the previous run (0 or less: unknown). Call before Push.
  void SetInstanceHint(int i, Clock::Duration took);
  // A successful attempt of `task` took `took`: the task's mean duration (its estimate) and the
  // remaining-work priorities are updated.
  void Observe(int task, Clock::Duration took);
  // The estimated remaining work from the start of instance i (its own estimate plus the
  // longest downstream chain); for tests and messages.
  Clock::Duration Priority(int i) const;

 private:
  Clock::Duration TaskEstimate(int t) const;
  Clock::Duration InstanceEstimate(int i) const;
  void Recompute();

  std::vector<int> task_of_;
  std::vector<std::vector<int>> task_dependents_;
  std::vector<int> topo_;                    // tasks, dependents before the tasks they depend on
  std::vector<Clock::Duration> hint_;        // per instance; 0 = unknown
  std::vector<Clock::Duration> task_sum_;    // per task: sum of observed durations
  std::vector<int> task_count_;              // per task: how many were observed
  std::vector<Clock::Duration> downstream_;  // per task: longest chain below it
  Clock::Duration longest_known_{0};         // the longest task estimate; unseen tasks count as it
  std::set<std::pair<Clock::TimePoint, int>> waiting_;  // (not before, instance), soonest first
  std::vector<Clock::TimePoint> not_before_;            // per instance, while waiting
  // Per task: its due instances, longest hint first, then workflow order.
  std::vector<std::set<std::pair<Clock::Duration, int>>> due_;
  std::vector<char> queued_;  // per instance: waiting or due
  size_t size_ = 0;
};

}  // namespace sluice::workflow
