// src/quality/ab_cases.cc
#include "quality/ab_cases.h"

#include <cctype>
#include <fstream>

#include "cosyvoice/error.h"

namespace cosyvoice::quality {
namespace {

std::vector<std::string> SplitTabs(const std::string &line) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == '\t') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return out;
}

bool ValidId(const std::string &id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

std::string DefaultInstruction(const std::string &language) {
  if (language == "zh") return "请用平静、清晰的语气说这句话。";
  return "Please speak calmly and clearly.";
}

}  // namespace

const std::vector<AbText> &DefaultAbTexts() {
  static const std::vector<AbText> kTexts = {
      {"zh", "zh", "银行行长说，重要的会议重新安排在3月15日下午2点半，共有120人参加。", ""},
      {"zh2", "zh", "他长大后成了音乐老师，每天快乐地弹奏乐器，一年要教365节课。", ""},
      {"en", "en", "On May 3rd, 2024, she read 42 pages and paid $19.99 for the book.", ""},
      {"ja", "ja", "東京タワーの高さは333メートルで、1958年に完成しました。", ""},
      {"ko", "ko", "오늘 회의는 오후 3시 30분에 2층 회의실에서 시작합니다.", ""},
  };
  return kTexts;
}

std::vector<AbText> ReadAbTexts(const std::string &path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::kIo, path + ": cannot open the text list");
  std::vector<AbText> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#' || line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto f = SplitTabs(line);
    const std::string where = path + ":" + std::to_string(n) + ": ";
    if (f.size() < 3 || f.size() > 4)
      throw Error(ErrorCode::kInvalidArgument,
                  where + "expected id<TAB>language<TAB>text[<TAB>instruction], got " +
                      std::to_string(f.size()) + " field(s)");
    if (!ValidId(f[0]))
      throw Error(ErrorCode::kInvalidArgument, where + "id '" + f[0] + "' must be 1-64 of [A-Za-z0-9_-]");
    if (f[2].find_first_not_of(" ") == std::string::npos)
      throw Error(ErrorCode::kInvalidArgument, where + "empty text");
    out.push_back({f[0], f[1], f[2], f.size() > 3 ? f[3] : ""});
  }
  if (out.empty()) throw Error(ErrorCode::kInvalidArgument, path + ": no texts");
  return out;
}

std::vector<AbCaseSpec> BuildAbCases(const std::vector<AbText> &texts, const std::vector<AbVoice> &voices,
                                     const std::vector<Mode> &modes, int seeds) {
  if (voices.empty()) throw Error(ErrorCode::kInvalidArgument, "ab: at least one voice is needed");
  if (seeds < 1) throw Error(ErrorCode::kInvalidArgument, "ab: --seeds must be >= 1");
  std::vector<AbCaseSpec> out;
  for (size_t i = 0; i < texts.size(); ++i) {
    const AbVoice &v = voices[i % voices.size()];
    for (Mode mode : modes) {
      if (mode == Mode::kVoiceConversion)
        throw Error(ErrorCode::kInvalidArgument,
                    "ab: voice conversion has no text; modes are zero_shot, "
                    "cross_lingual, instruct2");
      if (mode == Mode::kZeroShot && v.voice->transcript.find_first_not_of(" \t\r\n") == std::string::npos)
        continue;
      for (int s = 0; s < seeds; ++s) {
        AbCaseSpec c;
        c.id = texts[i].id + "-" + ModeName(mode) + "-s" + std::to_string(s);
        c.voice_name = v.name;
        c.language = texts[i].language;
        c.text = texts[i].text;
        c.mode = mode;
        c.instruct =
            mode == Mode::kInstruct2
                ? (texts[i].instruct.empty() ? DefaultInstruction(texts[i].language) : texts[i].instruct)
                : "";
        c.voice = v.voice;
        c.seed = static_cast<uint64_t>(s);
        out.push_back(std::move(c));
      }
    }
  }
  return out;
}

}  // namespace cosyvoice::quality
