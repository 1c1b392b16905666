// The ready queue's order (workflow/ready_queue.h): workflow order without estimates, the
// longest remaining work first with them, not_before respected. Pure data, no clock needed.
#include "workflow/ready_queue.h"

#include <gtest/gtest.h>

#include <vector>

namespace sluice::workflow {
namespace {

using std::chrono::seconds;

Clock::TimePoint At(int s) { return Clock::TimePoint{} + seconds(s); }

std::vector<int> PopAll(ReadyQueue& q, Clock::TimePoint now) {
  std::vector<int> out;
  for (int i = q.PopDue(now); i >= 0; i = q.PopDue(now)) out.push_back(i);
  return out;
}

TEST(ReadyQueue, WithoutEstimatesDueInstancesStartInWorkflowOrder) {
  // Three independent tasks, two instances each: 0,1 of task 0; 2,3 of task 1; 4,5 of task 2.
  ReadyQueue q({0, 0, 1, 1, 2, 2}, {{}, {}, {}});
  for (int i : {5, 3, 1, 4, 2, 0}) q.Push(i, At(0));
  EXPECT_EQ(PopAll(q, At(0)), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_TRUE(q.empty());
}

TEST(ReadyQueue, TheLongestDueTaskStartsFirstOnceItsDurationIsKnown) {
  ReadyQueue q({0, 0, 1, 1, 2, 2}, {{}, {}, {}});
  q.Observe(0, seconds(1));
  q.Observe(1, seconds(5));
  q.Observe(2, seconds(3));
  for (int i = 0; i < 6; ++i) q.Push(i, At(0));
  EXPECT_EQ(PopAll(q, At(0)), (std::vector<int>{2, 3, 4, 5, 0, 1}));
}

TEST(ReadyQueue, ATaskEstimateIsTheMeanOfItsObservedDurations) {
  ReadyQueue q({0, 1}, {{}, {}});
  q.Observe(0, seconds(1));
  q.Observe(0, seconds(9));  // mean 5
  q.Observe(1, seconds(4));
  EXPECT_EQ(q.Priority(0), seconds(5));
  EXPECT_EQ(q.Priority(1), seconds(4));
  q.Push(0, At(0));
  q.Push(1, At(0));
  EXPECT_EQ(q.PopDue(At(0)), 0);
}

TEST(ReadyQueue, ATaskNotSeenYetCountsAsTheLongestSeenSoItsFirstInstanceStartsEarly) {
  // Tasks 0..2, two instances each; only task 0 has ended once (2 s). Counting the unseen tasks
  // as 0 would start all of task 0 first and the (possibly long) others last.
  ReadyQueue q({0, 0, 1, 1, 2, 2}, {{}, {}, {}});
  q.Observe(0, seconds(2));
  EXPECT_EQ(q.Priority(2), seconds(2));
  for (int i = 0; i < 6; ++i) q.Push(i, At(0));
  EXPECT_EQ(q.PopDue(At(0)), 0);  // a tie: workflow order
  EXPECT_EQ(q.PopDue(At(0)), 1);
  q.Observe(1, seconds(1));
  q.Observe(2, seconds(8));  // task 2 turns out the longest: its instance goes next
  EXPECT_EQ(q.PopDue(At(0)), 4);
  EXPECT_EQ(PopAll(q, At(0)), (std::vector<int>{5, 2, 3}));
}

TEST(ReadyQueue, AShortTaskThatGatesALongChainStartsBeforeALongerTaskThatGatesNothing) {
  // Task 0 (extract, 1 s) is followed by task 1 (merge, 10 s); task 2 (5 s) is a leaf.
  ReadyQueue q({0, 1, 2}, {{1}, {}, {}});
  q.Observe(0, seconds(1));
  q.Observe(1, seconds(10));
  q.Observe(2, seconds(5));
  EXPECT_EQ(q.Priority(0), seconds(11));  // its own second plus the merge's ten
  q.Push(0, At(0));
  q.Push(2, At(0));
  EXPECT_EQ(PopAll(q, At(0)), (std::vector<int>{0, 2}));
}

TEST(ReadyQueue, PreviousRunHintsOrderTheInstancesOfOneTask) {
  // One task, four partners: the previous run's durations put the biggest partner first;
  // an instance without a hint (a new partner) comes after those with one.
  ReadyQueue q({0, 0, 0, 0}, {{}});
  q.SetInstanceHint(0, seconds(2));
  q.SetInstanceHint(1, seconds(7));
  q.SetInstanceHint(2, seconds(4));
  for (int i = 0; i < 4; ++i) q.Push(i, At(0));
  EXPECT_EQ(PopAll(q, At(0)), (std::vector<int>{1, 2, 0, 3}));
}

TEST(ReadyQueue, AnInstanceIsNotDueBeforeItsNotBeforeWhateverItsPriority) {
  ReadyQueue q({0, 1}, {{}, {}});
  q.Observe(0, seconds(100));
  q.Observe(1, seconds(1));
  q.Push(0, At(30));  // a retry in backoff
  q.Push(1, At(0));
  EXPECT_EQ(q.Soonest(), At(0));
  EXPECT_EQ(q.PopDue(At(10)), 1);
  EXPECT_EQ(q.PopDue(At(10)), -1);
  EXPECT_EQ(q.Soonest(), At(30));
  EXPECT_EQ(q.PopDue(At(30)), 0);
  EXPECT_EQ(q.Soonest(), std::nullopt);
}

TEST(ReadyQueue, RemoveTakesOutWaitingAndDueInstances) {
  ReadyQueue q({0, 0, 0}, {{}});
  q.Push(0, At(0));
  q.Push(1, At(50));
  q.Push(2, At(0));
  EXPECT_EQ(q.PopDue(At(0)), 0);  // moves 2 into the due set
  EXPECT_TRUE(q.Remove(2));
  EXPECT_TRUE(q.Remove(1));
  EXPECT_FALSE(q.Remove(1));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.PopDue(At(100)), -1);
}

}  // namespace
}  // namespace sluice::workflow
