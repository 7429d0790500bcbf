// Unit tests of the server's text-in streaming sessions (src/server/text_sessions.h): how text
// handed in pieces comes out to the engine, the end, the idle end, cancellation, and the bounds.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "server/api_error.h"
#include "server/synthesis_response.h"
#include "server/text_sessions.h"

namespace cosyvoice::server {
namespace {

using namespace std::chrono_literals;

int ErrorStatus(const std::function<void()> &f, std::string *code = nullptr) {
  try {
    f();
  } catch (const ApiException &e) {
    if (code != nullptr) *code = e.error().code;
    return e.error().status;
  }
  return 0;
}

const auto kNever = [] { return false; };

TEST(TextSession, PiecesAreCutAfterWholeWordsAndTheRestComesAtTheEnd) {
  TextSession s("a", 100, 10s);
  EXPECT_EQ(s.Append("Hello wor", false), 9u);
  std::string piece;
  ASSERT_TRUE(s.NextPiece(piece, kNever));
  EXPECT_EQ(piece, "Hello ");  // "wor" waits for the rest of its word
  EXPECT_EQ(s.Append("ld", true), 11u);
  ASSERT_TRUE(s.NextPiece(piece, kNever));
  EXPECT_EQ(piece, "world");
  EXPECT_FALSE(s.NextPiece(piece, kNever));
}

TEST(TextSession, NextPieceWaitsForTextFromAnotherThread) {
  TextSession s("a", 100, 10s);
  std::thread writer([&] {
    std::this_thread::sleep_for(50ms);
    s.Append("Later. ", true);
  });
  std::string piece;
  ASSERT_TRUE(s.NextPiece(piece, kNever));
  EXPECT_EQ(piece, "Later. ");
  EXPECT_FALSE(s.NextPiece(piece, kNever));
  writer.join();
}

TEST(TextSession, StalledTextCountsAsEndedAfterTheIdleTime) {
  TextSession s("a", 100, 300ms);
  s.Append("Half a sent", false);
  std::string piece;
  ASSERT_TRUE(s.NextPiece(piece, kNever));
  EXPECT_EQ(piece, "Half a ");
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(s.NextPiece(piece, kNever));  // the idle end hands out what is left
  EXPECT_EQ(piece, "sent");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms);
  EXPECT_FALSE(s.NextPiece(piece, kNever));
  std::string code;
  EXPECT_EQ(ErrorStatus([&] { s.Append("more", false); }, &code), 409);
  EXPECT_EQ(code, "text_ended");
}

TEST(TextSession, CancelAndAStoppedJobEndTheText) {
  TextSession s("a", 100, 10s);
  std::string piece;
  EXPECT_FALSE(s.NextPiece(piece, [] { return true; }));  // the job was cancelled
  s.Append("Some words ", false);
  s.Cancel();
  EXPECT_TRUE(s.cancelled());
  EXPECT_FALSE(s.NextPiece(piece, kNever));  // queued text is dropped
  std::string code;
  EXPECT_EQ(ErrorStatus([&] { s.Append("x", false); }, &code), 409);
  EXPECT_EQ(code, "session_cancelled");
}

TEST(TextSession, TheTextLimitCountsCharactersOverTheWholeSession) {
  TextSession s("a", 5, 10s);
  EXPECT_EQ(s.Append("你好你好", false), 4u);  // 12 bytes, 4 characters
  std::string code;
  EXPECT_EQ(ErrorStatus([&] { s.Append("ab", false); }, &code), 400);
  EXPECT_EQ(code, "text_too_long");
  EXPECT_EQ(s.Append("a", true), 5u);  // a refused piece changed nothing
}

TEST(TextSession, TheAudioCanBeTakenOnce) {
  TextSession s("a", 5, 10s);
  EXPECT_TRUE(s.TakeAudio());
  EXPECT_FALSE(s.TakeAudio());
}

TEST(TextSessions, OpenSessionsAreBoundedAndFinishedOnesFreeTheirSlot) {
  TextSessions sessions(2, 100, 60);
  auto a = sessions.Open(std::make_shared<SpeechJob>());
  auto b = sessions.Open(std::make_shared<SpeechJob>());
  EXPECT_EQ(a.job->text_session, a.session);
  EXPECT_EQ(a.session->id().size(), 32u);
  EXPECT_NE(a.session->id(), b.session->id());
  std::string code;
  EXPECT_EQ(ErrorStatus([&] { sessions.Open(std::make_shared<SpeechJob>()); }, &code), 429);
  EXPECT_EQ(code, "too_many_sessions");
  a.session->TakeAudio();
  a.session->MarkFinished();  // its synthesis ended
  EXPECT_EQ(ErrorStatus([&] { sessions.Find(a.session->id()); }, &code), 404);
  EXPECT_EQ(code, "session_not_found");
  auto c = sessions.Open(std::make_shared<SpeechJob>());
  sessions.Close(b.session->id());
  EXPECT_TRUE(b.session->cancelled());
  EXPECT_EQ(sessions.open(), 1u);
  EXPECT_EQ(sessions.Find(c.session->id()).session, c.session);
}

TEST(TextSessions, ASessionNeverReadIsDroppedAfterTheIdleTime) {
  TextSessions sessions(1, 100, 0.2);
  auto a = sessions.Open(std::make_shared<SpeechJob>());
  std::this_thread::sleep_for(300ms);
  auto b = sessions.Open(std::make_shared<SpeechJob>());  // a's slot was freed
  EXPECT_EQ(ErrorStatus([&] { sessions.Find(a.session->id()); }), 404);
  b.session->TakeAudio();  // a session being read is kept however long its text stalls
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(sessions.Find(b.session->id()).session, b.session);
}

}  // namespace
}  // namespace cosyvoice::server
