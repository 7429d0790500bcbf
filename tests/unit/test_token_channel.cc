// tests/unit/test_token_channel.cc - the LLM-to-renderer hand-off: order, end of stream, errors,
// abort, and the first-audio limit that holds the producer (engine/token_channel.h).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "engine/token_channel.h"

namespace cosyvoice {
namespace {

using namespace std::chrono_literals;

// How long a test waits to see that a thread stays blocked. A blocked producer never advances,
// so a short wait can only let a broken limit pass by luck, never fail a working one.
constexpr auto kSettle = 50ms;

// Waits (up to a generous deadline: sanitizers and a loaded machine are slow) until `counter`
// reaches `value`; true if it did.
bool WaitFor(const std::atomic<int> &counter, int value) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (counter.load() < value && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  return counter.load() >= value;
}

TEST(TokenChannel, DeliversInOrderThenEnds) {
  TokenChannel ch;
  std::thread producer([&] {
    for (int t = 0; t < 5; ++t) ch.Push({0, t, false});
    ch.Push({0, 0, true});
    ch.Close();
  });
  TokenEvent e;
  for (int t = 0; t < 5; ++t) {
    ASSERT_TRUE(ch.Pop(&e));
    EXPECT_EQ(e.token, t);
    EXPECT_FALSE(e.end);
  }
  ASSERT_TRUE(ch.Pop(&e));
  EXPECT_TRUE(e.end);
  EXPECT_FALSE(ch.Pop(&e));
  producer.join();
}

TEST(TokenChannel, RethrowsTheProducersErrorAfterItsEvents) {
  TokenChannel ch;
  ch.Push({0, 7, false});
  ch.Close(std::make_exception_ptr(std::runtime_error("decode failed")));
  TokenEvent e;
  ASSERT_TRUE(ch.Pop(&e));
  EXPECT_EQ(e.token, 7);
  EXPECT_THROW(ch.Pop(&e), std::runtime_error);
}

TEST(TokenChannel, LimitHoldsTheProducerUntilTheConsumerPops) {
  TokenChannel ch;
  ch.LimitProducer(3);
  std::atomic<int> pushed{0};
  std::thread producer([&] {
    for (int t = 0; t < 10; ++t) {
      if (!ch.Push({0, t, false})) return;
      pushed.fetch_add(1);
    }
  });
  ASSERT_TRUE(WaitFor(pushed, 2));
  std::this_thread::sleep_for(kSettle);
  // the third Push queued its token and waits: three queued reach the limit
  EXPECT_EQ(pushed.load(), 2);
  TokenEvent e;
  ASSERT_TRUE(ch.Pop(&e));  // two queued again: the producer goes on until three are
  ASSERT_TRUE(WaitFor(pushed, 3));
  std::this_thread::sleep_for(kSettle);
  EXPECT_EQ(pushed.load(), 3);
  ch.LimitProducer(-1);  // free: it pushes the rest
  producer.join();
  EXPECT_EQ(pushed.load(), 10);
}

TEST(TokenChannel, LimitZeroHoldsAtOnceAndAbortReleases) {
  TokenChannel ch;
  ch.LimitProducer(0);
  std::atomic<bool> returned{false};
  std::atomic<bool> result{true};
  std::thread producer([&] {
    result = ch.Push({0, 1, false});
    returned = true;
  });
  std::this_thread::sleep_for(kSettle);
  EXPECT_FALSE(returned.load());
  ch.Abort();
  producer.join();
  EXPECT_FALSE(result.load()) << "a push released by Abort reports the abort";
  EXPECT_FALSE(ch.Push({0, 2, false}));
}

// The silent-token filter may drop a token the limit counted: popping it must free the producer,
// never deadlock (the producer only ever waits on tokens already queued).
TEST(TokenChannel, APoppedTokenAlwaysFreesAHeldProducer) {
  TokenChannel ch;
  ch.LimitProducer(1);
  std::atomic<int> pushed{0};
  std::thread producer([&] {
    for (int t = 0; t < 4; ++t) {
      ch.Push({0, t, false});
      pushed.fetch_add(1);
    }
    ch.Close();
  });
  TokenEvent e;
  int popped = 0;
  while (ch.Pop(&e)) ++popped;
  producer.join();
  EXPECT_EQ(popped, 4);
  EXPECT_EQ(pushed.load(), 4);
}

// The LLM is held back for the first audio only where it would take the renderer's CPU: a shared
// pool (any size but 1, 0 = one per core) or a single CPU (hardware_concurrency 0 = unknown: kept).
TEST(FirstAudioPriority, PaysUnlessEachThreadHasACpuOfItsOwn) {
  EXPECT_TRUE(FirstAudioPriorityPays(0, 2));
  EXPECT_TRUE(FirstAudioPriorityPays(2, 2));
  EXPECT_TRUE(FirstAudioPriorityPays(8, 16));
  EXPECT_TRUE(FirstAudioPriorityPays(1, 1));
  EXPECT_TRUE(FirstAudioPriorityPays(1, 0));
  EXPECT_FALSE(FirstAudioPriorityPays(1, 2));
  EXPECT_FALSE(FirstAudioPriorityPays(1, 64));
}

}  // namespace
}  // namespace cosyvoice
