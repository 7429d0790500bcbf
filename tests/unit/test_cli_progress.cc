// Progress arithmetic (time left, real-time factor) and what each display style prints.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/progress.h"

namespace cosyvoice::cli {
namespace {

TEST(FormatClock, MinutesAndHours) {
  EXPECT_EQ(FormatClock(0), "0:00");
  EXPECT_EQ(FormatClock(7.9), "0:07");
  EXPECT_EQ(FormatClock(65), "1:05");
  EXPECT_EQ(FormatClock(3723), "1:02:03");
  EXPECT_EQ(FormatClock(-3), "0:00");
}

TEST(SynthesisProgress, NoEstimateBeforeTheFirstSegmentEnds) {
  SynthesisProgress p(10.0);
  EXPECT_FALSE(p.remaining(10.0).has_value());
  p.OnAudio(11.0, 0, 4, 24000, 24000, false);  // a streamed chunk, segment not done
  EXPECT_FALSE(p.remaining(11.5).has_value());
  EXPECT_DOUBLE_EQ(p.audio_seconds(), 1.0);
}

TEST(SynthesisProgress, RemainingIsTheAverageSegmentTimesWhatIsLeft) {
  SynthesisProgress p(0.0);
  p.OnAudio(2.0, 0, 4, 48000, 24000, true);  // segment 1 of 4 took 2 s
  ASSERT_TRUE(p.remaining(2.0).has_value());
  EXPECT_DOUBLE_EQ(*p.remaining(2.0), 6.0);
  EXPECT_DOUBLE_EQ(*p.remaining(3.0), 5.0) << "time spent on the current segment comes off";
  EXPECT_DOUBLE_EQ(*p.remaining(9.0), 4.0) << "but the segments not started yet still count in full";
  p.OnAudio(6.0, 1, 4, 48000, 24000, true);  // average now 3 s
  EXPECT_DOUBLE_EQ(*p.remaining(6.0), 6.0);
  EXPECT_EQ(p.segments_done(), 2);
  EXPECT_DOUBLE_EQ(p.rtf(6.0), 6.0 / 4.0);
  p.OnAudio(8.0, 2, 4, 0, 24000, true);
  p.OnAudio(9.0, 3, 4, 0, 24000, true);
  EXPECT_DOUBLE_EQ(*p.remaining(9.0), 0.0);
}

std::string Capture(ProgressStyle style, void (*script)(ProgressReporter &)) {
  std::FILE *f = std::tmpfile();
  {
    ProgressReporter r(style, f);
    script(r);
  }
  std::rewind(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

void Script(ProgressReporter &r) {
  r.BeginStep("load", "loading the model from B");
  r.EndStep("loaded model M", {{"model", "M"}});
  r.Warning("short prompt");
  r.StartSynthesis();
  r.Audio(0, 2, 24000, 24000, true);
  r.Audio(1, 2, 12000, 24000, true);
  r.Summary("wrote out.wav", {{"audio_seconds", 1.5}});
}

TEST(ProgressReporter, PlainLinesOnePerStep) {
  const std::string out = Capture(ProgressStyle::kPlain, Script);
  EXPECT_NE(out.find("[cosyvoice] loading the model from B\n"), std::string::npos) << out;
  EXPECT_NE(out.find("[cosyvoice] loaded model M in "), std::string::npos) << out;
  EXPECT_NE(out.find("[cosyvoice] warning: short prompt\n"), std::string::npos) << out;
  EXPECT_NE(out.find("segment 1/2 done: 1.00 s of audio, 0:00 elapsed"), std::string::npos) << out;
  EXPECT_NE(out.find("segment 2/2 done: 1.50 s of audio"), std::string::npos) << out;
  EXPECT_NE(out.find("[cosyvoice] wrote out.wav\n"), std::string::npos) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos) << "nothing redrawn when not a terminal";
}

TEST(ProgressReporter, JsonLinesParseAndCarryTheFields) {
  const std::string out = Capture(ProgressStyle::kJson, Script);
  std::vector<nlohmann::json> events;
  size_t start = 0;
  for (size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1)
    events.push_back(nlohmann::json::parse(out.substr(start, nl - start)));
  ASSERT_EQ(events.size(), 5u) << out;
  EXPECT_EQ(events[0]["event"], "load");
  EXPECT_EQ(events[0]["model"], "M");
  EXPECT_TRUE(events[0]["seconds"].is_number());
  EXPECT_EQ(events[1]["event"], "warning");
  EXPECT_EQ(events[2]["event"], "segment");
  EXPECT_EQ(events[2]["segments"], 2);
  EXPECT_TRUE(events[2].contains("remaining_seconds"));
  EXPECT_EQ(events[4]["event"], "done");
  EXPECT_EQ(events[4]["audio_seconds"], 1.5);
}

TEST(ProgressReporter, QuietPrintsNothingButCancellation) {
  EXPECT_EQ(Capture(ProgressStyle::kQuiet, Script), "");
  EXPECT_EQ(Capture(ProgressStyle::kQuiet, [](ProgressReporter &r) { r.Cancelled("cancelled"); }),
            "cancelled\n");
}

TEST(ProgressReporter, TerminalRedrawsOneLineAndClearsIt) {
  const std::string out = Capture(ProgressStyle::kTerminal, Script);
  EXPECT_NE(out.find("\r\033[Kloading the model from B..."), std::string::npos) << out;
  EXPECT_NE(out.find("synthesizing: segment 2/2, 1.00 s of audio"), std::string::npos) << out;
  EXPECT_NE(out.find("wrote out.wav\n"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - std::string("wrote out.wav\n").size()), "wrote out.wav\n")
      << "the status line is gone at the end";
}

}  // namespace
}  // namespace cosyvoice::cli
