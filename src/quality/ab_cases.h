// src/quality/ab_cases.h - the A/B gate's case list: texts x modes x seeds, voices in turn.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "quality/ab_runner.h"

namespace cosyvoice::quality {

struct AbText {
  std::string id;        // short name, [A-Za-z0-9_-]
  std::string language;  // zh, en, ja, ko, ...
  std::string text;
  std::string instruct;  // for instruct2 (empty: a default instruction in the text's language)
};

// Texts in Chinese, English, Japanese and Korean with numbers, dates, money and polyphonic
// characters (银行/行长, 重要/重新, 长大, 音乐/快乐; "read" past tense), one or two sentences each.
const std::vector<AbText> &DefaultAbTexts();

// A UTF-8 TSV file: `id<TAB>language<TAB>text[<TAB>instruction]` per line; '#' lines and empty lines
// are skipped. Throws Error(kInvalidArgument) naming the file and line.
std::vector<AbText> ReadAbTexts(const std::string &path);

struct AbVoice {
  std::string name;
  const Voice *voice = nullptr;
};

// texts x modes x seeds (0 .. seeds-1), the voice of text i being voices[i % voices.size()];
// zero-shot cases need a voice with a transcript (others are skipped for it). Case ids are
// "<text>-<mode>-s<seed>".
std::vector<AbCaseSpec> BuildAbCases(const std::vector<AbText> &texts, const std::vector<AbVoice> &voices,
                                     const std::vector<Mode> &modes, int seeds);

}  // namespace cosyvoice::quality
