// ready_queue.cpp: see ready_queue.h.
#include "workflow/ready_queue.h"

#include <algorithm>
#include <deque>

namespace sluice::workflow {

ReadyQueue::ReadyQueue(std::vector<int> task_of, std::vector<std::vector<int>> task_dependents)
    : task_of_(std::move(task_of)), task_dependents_(std::move(task_dependents)) {
  const size_t tasks = task_dependents_.size();
  hint_.assign(task_of_.size(), Clock::Duration(0));
  not_before_.assign(task_of_.size(), Clock::TimePoint{});
  queued_.assign(task_of_.size(), 0);
  task_sum_.assign(tasks, Clock::Duration(0));
  task_count_.assign(tasks, 0);
  downstream_.assign(tasks, Clock::Duration(0));
  due_.resize(tasks);
  // Reverse topological order (Kahn's on the reversed edges): a task comes after every task
  // that depends on it has been placed, so one pass computes the longest chains below.
  std::vector<int> pending(tasks, 0);
  for (size_t t = 0; t < tasks; ++t) pending[t] = static_cast<int>(task_dependents_[t].size());
  std::vector<std::vector<int>> upstream(tasks);
  for (size_t t = 0; t < tasks; ++t) {
    for (int d : task_dependents_[t]) upstream[d].push_back(static_cast<int>(t));
  }
  std::deque<int> ready;
  for (size_t t = 0; t < tasks; ++t) {
    if (pending[t] == 0) ready.push_back(static_cast<int>(t));
  }
  std::vector<char> placed(tasks, 0);
  while (!ready.empty()) {
    int t = ready.front();
    ready.pop_front();
    topo_.push_back(t);
    placed[t] = 1;
    for (int u : upstream[t]) {
      if (--pending[u] == 0) ready.push_back(u);
    }
  }
  // The workflow is validated acyclic; should it not be, the rest still gets a (partial) order.
  for (size_t t = 0; t < tasks; ++t) {
    if (!placed[t]) topo_.push_back(static_cast<int>(t));
  }
}

void ReadyQueue::Push(int i, Clock::TimePoint not_before) {
  if (queued_[i]) return;
  queued_[i] = 1;
  ++size_;
  not_before_[i] = not_before;
  waiting_.insert({not_before, i});
}

bool ReadyQueue::Remove(int i) {
  if (!queued_[i]) return false;
  if (waiting_.erase({not_before_[i], i}) == 0) due_[task_of_[i]].erase({-hint_[i], i});
  queued_[i] = 0;
  --size_;
  return true;
}

std::optional<Clock::TimePoint> ReadyQueue::Soonest() const {
  if (size_ == 0) return std::nullopt;
  // Something due is startable now: its not_before has passed, so the earliest is in the past.
  for (const auto& d : due_) {
    if (!d.empty()) return not_before_[d.begin()->second];
  }
  return waiting_.begin()->first;
}

int ReadyQueue::PopDue(Clock::TimePoint now) {
  while (!waiting_.empty() && waiting_.begin()->first <= now) {
    const int i = waiting_.begin()->second;
    waiting_.erase(waiting_.begin());
    due_[task_of_[i]].insert({-hint_[i], i});
  }
  int best = -1;
  Clock::Duration best_priority{};
  for (const auto& d : due_) {
    if (d.empty()) continue;
    const int i = d.begin()->second;
    const Clock::Duration p = Priority(i);
    if (best < 0 || p > best_priority || (p == best_priority && i < best)) {
      best = i;
      best_priority = p;
    }
  }
  if (best < 0) return -1;
  due_[task_of_[best]].erase(due_[task_of_[best]].begin());
  queued_[best] = 0;
  --size_;
  return best;
}

void ReadyQueue::SetInstanceHint(int i, Clock::Duration took) {
  if (queued_[i]) return;  // its place in a due set depends on it
  hint_[i] = std::max(took, Clock::Duration(0));
}

void ReadyQueue::Observe(int task, Clock::Duration took) {
  if (task < 0 || task >= static_cast<int>(task_sum_.size())) return;
  task_sum_[task] += std::max(took, Clock::Duration(0));
  ++task_count_[task];
  Recompute();
}

Clock::Duration ReadyQueue::TaskEstimate(int t) const {
  // A task not seen yet counts as the longest one seen: it may well be, and running one of its
  // instances early is what gives it an estimate (counting it as 0 would start every instance
  // of a long task last, the very tail this queue is for).
  return task_count_[t] > 0 ? task_sum_[t] / task_count_[t] : longest_known_;
}

Clock::Duration ReadyQueue::InstanceEstimate(int i) const {
  if (hint_[i] > Clock::Duration(0)) return hint_[i];
  return TaskEstimate(task_of_[i]);
}

Clock::Duration ReadyQueue::Priority(int i) const {
  return InstanceEstimate(i) + downstream_[task_of_[i]];
}

void ReadyQueue::Recompute() {
  longest_known_ = Clock::Duration(0);
  for (size_t t = 0; t < task_count_.size(); ++t) {
    if (task_count_[t] > 0)
      longest_known_ = std::max(longest_known_, task_sum_[t] / task_count_[t]);
  }
  for (int t : topo_) {
    Clock::Duration longest{0};
    for (int d : task_dependents_[t]) longest = std::max(longest, TaskEstimate(d) + downstream_[d]);
    downstream_[t] = longest;
  }
}

}  // namespace sluice::workflow
