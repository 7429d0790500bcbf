// tests/unit/test_stream_scheduler.cc - the streaming chunk schedule (spec §8) and the
// silent-token filter, the two model-free decisions of the synthesis loop.
#include <gmock/gmock.h>

#include <vector>

#include "engine/silent_token_filter.h"
#include "engine/stream_scheduler.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

// CosyVoice3's values (spec §8): hop 25 growing x2 up to 100, lookahead 3, DiT chunk 25 tokens.
const StreamSchedule kCv3{25, 100, 2, 3, 25};

// Every chunk a segment of `total` tokens gets when tokens arrive one at a time (as from the
// LLM), the final one included.
std::vector<StreamChunk> Incremental(const StreamSchedule &s, int prompt, int total) {
  StreamScheduler sched(s, prompt);
  std::vector<StreamChunk> out;
  for (int available = 1; available <= total; ++available) {
    while (auto c = sched.Next(available)) out.push_back(*c);
  }
  out.push_back(sched.Final(total));
  return out;
}

// The same when every token is known at once (voice conversion).
std::vector<StreamChunk> AllAtOnce(const StreamSchedule &s, int prompt, int total) {
  StreamScheduler sched(s, prompt);
  std::vector<StreamChunk> out;
  while (auto c = sched.Next(total)) out.push_back(*c);
  out.push_back(sched.Final(total));
  return out;
}

// (offset, hop, end, final) for compact expectations
std::vector<std::vector<int>> Flat(const std::vector<StreamChunk> &chunks) {
  std::vector<std::vector<int>> v;
  for (const auto &c : chunks) v.push_back({c.offset, c.hop, c.end, c.final ? 1 : 0});
  return v;
}

TEST(StreamScheduler, PromptPaddingAlignsTheFirstHopToTheDitChunk) {
  EXPECT_EQ(StreamScheduler(kCv3, 0).pad(), 0);
  EXPECT_EQ(StreamScheduler(kCv3, 1).pad(), 24);
  EXPECT_EQ(StreamScheduler(kCv3, 24).pad(), 1);
  EXPECT_EQ(StreamScheduler(kCv3, 25).pad(), 0);
  EXPECT_EQ(StreamScheduler(kCv3, 26).pad(), 24);
  EXPECT_EQ(StreamScheduler(kCv3, 60).pad(), 15);
}

TEST(StreamScheduler, HandComputedSchedules) {
  // K = 60 prompt tokens: pad 15, hops 40, 50, 100, 100; each chunk needs 3 lookahead tokens.
  EXPECT_EQ(Flat(Incremental(kCv3, 60, 300)),
            (std::vector<std::vector<int>>{
                {0, 40, 43, 0}, {40, 50, 93, 0}, {90, 100, 193, 0}, {190, 100, 293, 0}, {290, 10, 300, 1}}));
  // K = 25: no pad; 42 tokens give one chunk of 25 (needs 28) and a final of 17.
  EXPECT_EQ(Flat(Incremental(kCv3, 25, 42)),
            (std::vector<std::vector<int>>{{0, 25, 28, 0}, {25, 17, 42, 1}}));
  // Too few tokens for any chunk: the final chunk is everything.
  EXPECT_EQ(Flat(Incremental(kCv3, 10, 20)), (std::vector<std::vector<int>>{{0, 20, 20, 1}}));
  // Exactly hop + lookahead: one chunk, then a final of just the lookahead tokens.
  EXPECT_EQ(Flat(Incremental(kCv3, 0, 28)), (std::vector<std::vector<int>>{{0, 25, 28, 0}, {25, 3, 28, 1}}));
}

// TokensToNextChunk is what the first-audio priority holds the LLM by: it must count down to 0
// exactly when Next starts returning a chunk, for every available count, through the hops.
TEST(StreamScheduler, TokensToNextChunkReachesZeroExactlyWhenAChunkIsReady) {
  StreamScheduler sched(kCv3, 60);  // hops 40, 50, 100 + 3 lookahead
  EXPECT_EQ(sched.TokensToNextChunk(0), 43);
  int chunks = 0;
  for (int available = 0; available <= 300; ++available) {
    const int before = sched.TokensToNextChunk(available);
    const auto c = sched.Next(available);
    EXPECT_EQ(before == 0, c.has_value()) << "available " << available;
    if (c) {
      ++chunks;
      EXPECT_GT(sched.TokensToNextChunk(available), 0) << "one chunk per token here";
    }
  }
  EXPECT_EQ(chunks, 4);
  EXPECT_EQ(sched.TokensToNextChunk(300), 93);  // offset 290 + hop 100 + lookahead 3 = 393
}

TEST(StreamScheduler, ChunksEndOnDitChunkBoundariesForEveryPromptLength) {
  for (int prompt = 0; prompt <= 120; ++prompt) {
    for (int total : {1, 27, 28, 60, 150, 400}) {
      const auto chunks = Incremental(kCv3, prompt, total);
      const int pad = StreamScheduler(kCv3, prompt).pad();
      int expect_offset = 0, expect_hop = 25 + pad;
      for (size_t i = 0; i + 1 < chunks.size(); ++i) {
        const StreamChunk &c = chunks[i];
        EXPECT_FALSE(c.final);
        EXPECT_EQ(c.offset, expect_offset) << "prompt " << prompt << " chunk " << i;
        EXPECT_EQ(c.hop, expect_hop) << "prompt " << prompt << " chunk " << i;
        EXPECT_EQ(c.end, c.offset + c.hop + 3);
        EXPECT_LE(c.end, total);
        // absolute alignment: prompt + emitted tokens fill whole attention chunks
        EXPECT_EQ((prompt + c.offset + c.hop) % 25, 0) << "prompt " << prompt << " chunk " << i;
        expect_offset += c.hop;
        expect_hop = std::min(100, (i == 0 ? 25 : expect_hop) * 2);
      }
      const StreamChunk &last = chunks.back();
      EXPECT_TRUE(last.final);
      EXPECT_EQ(last.offset, expect_offset);
      EXPECT_EQ(last.end, total);
      // the final chunk starts when no further chunk fits
      EXPECT_LT(total - last.offset, expect_hop + 3) << "prompt " << prompt << " total " << total;
      EXPECT_EQ(Flat(AllAtOnce(kCv3, prompt, total)), Flat(chunks)) << "prompt " << prompt;
    }
  }
}

// Fast mode's schedule (segment_renderer.cc StreamScheduleOf): one attention chunk per emission,
// the first at the first attention-chunk boundary when the pad is at least 5 tokens.
const StreamSchedule kFast{25, 25, 1, 3, 25, 5};

TEST(StreamScheduler, EarlyFirstHopEmitsThePadAloneWhenItIsLongEnough) {
  // K = 35: pad 15 -> [:18], then 25 per chunk (the python reference's plan, test_streaming.py)
  EXPECT_EQ(Flat(Incremental(kFast, 35, 130)), (std::vector<std::vector<int>>{{0, 15, 18, 0},
                                                                              {15, 25, 43, 0},
                                                                              {40, 25, 68, 0},
                                                                              {65, 25, 93, 0},
                                                                              {90, 25, 118, 0},
                                                                              {115, 15, 130, 1}}));
  EXPECT_EQ(StreamScheduler(kFast, 35).TokensToNextChunk(0), 18);  // was 43 without it
  // pad 4 (< 5) joins the first full hop; pad 5 is emitted alone; pad 0 -> 25
  EXPECT_EQ(Flat(Incremental(kFast, 21, 60)),
            (std::vector<std::vector<int>>{{0, 29, 32, 0}, {29, 25, 57, 0}, {54, 6, 60, 1}}));
  EXPECT_EQ(Flat(Incremental(kFast, 20, 60)),
            (std::vector<std::vector<int>>{{0, 5, 8, 0}, {5, 25, 33, 0}, {30, 25, 58, 0}, {55, 5, 60, 1}}));
  EXPECT_EQ(Flat(Incremental(kFast, 50, 60)),
            (std::vector<std::vector<int>>{{0, 25, 28, 0}, {25, 25, 53, 0}, {50, 10, 60, 1}}));
  // every non-final chunk still ends on an attention-chunk boundary, for every prompt length
  for (int prompt = 0; prompt <= 120; ++prompt) {
    for (const StreamChunk &c : Incremental(kFast, prompt, 200)) {
      if (!c.final) {
        EXPECT_EQ((prompt + c.offset + c.hop) % 25, 0) << "prompt " << prompt;
      }
    }
  }
}

TEST(StreamScheduler, ScaleFactorOneKeepsTheHopAndTheCapHolds) {
  const StreamSchedule fixed{10, 100, 1, 0, 5};
  EXPECT_EQ(
      Flat(Incremental(fixed, 5, 30)),
      (std::vector<std::vector<int>>{{0, 10, 10, 0}, {10, 10, 20, 0}, {20, 10, 30, 0}, {30, 0, 30, 1}}));
  const StreamSchedule huge{1, 3, 1000000000, 0, 1};
  EXPECT_EQ(Flat(Incremental(huge, 0, 8)),
            (std::vector<std::vector<int>>{{0, 1, 1, 0}, {1, 3, 4, 0}, {4, 3, 7, 0}, {7, 1, 8, 1}}));
}

TEST(StreamScheduler, RefusesBadSchedules) {
  EXPECT_COSY_ERROR(StreamScheduler(StreamSchedule{0, 100, 2, 3, 25}, 0), ErrorCode::kInvalidArgument,
                    "token_hop_len must be >= 1");
  EXPECT_COSY_ERROR(StreamScheduler(StreamSchedule{25, 10, 2, 3, 25}, 0), ErrorCode::kInvalidArgument,
                    "token_max_hop_len");
  EXPECT_COSY_ERROR(StreamScheduler(StreamSchedule{25, 100, 2, 3, 0}, 0), ErrorCode::kInvalidArgument,
                    "chunk_tokens");
  EXPECT_COSY_ERROR(StreamScheduler(kCv3, -1), ErrorCode::kInvalidArgument, "negative prompt length");
  EXPECT_COSY_ERROR(StreamScheduler(StreamSchedule{25, 100, 2, 3, 25, -1}, 0), ErrorCode::kInvalidArgument,
                    "early_first_hop");
}

std::vector<int> Kept(SilentTokenFilter &f, const std::vector<int> &tokens) {
  std::vector<int> out;
  for (int t : tokens)
    if (f.Push(t)) out.push_back(t);
  return out;
}

TEST(SilentTokenFilter, KeepsTheFirstMaxRunOfARun) {
  SilentTokenFilter f({1, 2}, 5);
  // 1 1 2 1 1 is a run of five silent tokens; the sixth (1) and seventh (2) are dropped; 8 resets
  EXPECT_EQ(Kept(f, {9, 1, 1, 2, 1, 1, 1, 2, 8, 1, 1}), (std::vector<int>{9, 1, 1, 2, 1, 1, 8, 1, 1}));
}

TEST(SilentTokenFilter, ZeroDropsEverySilentToken) {
  SilentTokenFilter f({1, 2}, 0);
  EXPECT_EQ(Kept(f, {1, 1, 3, 2, 4}), (std::vector<int>{3, 4}));
}

TEST(SilentTokenFilter, RunsCarryAcrossPushesUntilReset) {
  SilentTokenFilter f({7}, 2);
  EXPECT_TRUE(f.Push(7));
  EXPECT_TRUE(f.Push(7));
  EXPECT_FALSE(f.Push(7));
  f.Reset();
  EXPECT_TRUE(f.Push(7));
  EXPECT_COSY_ERROR(SilentTokenFilter({7}, -1), ErrorCode::kInvalidArgument, "max_run must be >= 0");
}

}  // namespace
}  // namespace cosyvoice
