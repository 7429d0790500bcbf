// tests/unit/test_text_normalization_cases.cc - drives tests/data/text_normalization_cases.tsv:
// hand-written input -> expected pairs for the normalizer and the CosyVoice3 frontend rules.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "text/frontend_utils.h"
#include "text/normalizer/text_normalizer.h"
#include "text/text_frontend.h"

namespace cosyvoice {
namespace {

struct Case {
  int line = 0;
  std::string mode, cls, input, expected;
};

// "{X*N}" repeats X N times (long split_paragraph inputs stay readable); "\n" is a newline.
std::string Expand(const std::string &field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 1 < field.size() && field[i + 1] == 'n') {
      out += '\n';
      ++i;
      continue;
    }
    if (field[i] == '{') {
      const size_t star = field.find('*', i);
      const size_t close = field.find('}', i);
      if (star != std::string::npos && close != std::string::npos && star < close) {
        const std::string unit = field.substr(i + 1, star - i - 1);
        const int times = std::stoi(field.substr(star + 1, close - star - 1));
        for (int k = 0; k < times; ++k) out += unit;
        i = close;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

std::vector<Case> LoadCases() {
  std::ifstream file(COSYVOICE_TEXT_CASES);
  std::vector<Case> cases;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::stringstream stream(line);
    for (std::string f; std::getline(stream, f, '\t');) fields.push_back(f);
    if (line.back() == '\t') fields.emplace_back();
    Case c;
    c.line = number;
    if (fields.size() != 4) {
      c.mode = "malformed";
      c.input = line;
    } else {
      c.mode = fields[0];
      c.cls = fields[1];
      c.input = Expand(fields[2]);
      c.expected = Expand(fields[3]);
    }
    cases.push_back(c);
  }
  return cases;
}

std::string Join(const std::vector<std::string> &segments) {
  std::string out;
  for (size_t i = 0; i < segments.size(); ++i) out += (i ? "‖" : "") + segments[i];
  return out;
}

size_t WordCount(std::string_view text) {
  size_t words = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = c == ' ';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

std::string RunCase(const Case &c) {
  static const tn::TextNormalizer zh(tn::Language::kZh);
  static const tn::TextNormalizer en(tn::Language::kEn);
  static const TextFrontend frontend;
  if (c.mode == "zh") return zh.Normalize(c.input);
  if (c.mode == "en") return en.Normalize(c.input);
  if (c.mode == "spell") return text::SpellOutNumber(c.input);
  if (c.mode == "frontend") return Join(frontend.Split(c.input));
  if (c.mode == "frontend_nosplit") return frontend.Normalize(c.input);
  if (c.mode == "frontend_raw") {
    TextFrontendOptions options;
    options.text_normalization = false;
    return Join(TextFrontend(options).Split(c.input));
  }
  if (c.mode == "frontend_words") {  // English lengths = words, for hand-countable segmentations
    TextFrontendOptions options;
    options.token_counter = WordCount;
    return Join(TextFrontend(options).Split(c.input));
  }
  ADD_FAILURE() << "line " << c.line << ": unknown mode '" << c.mode << "' in: " << c.input;
  return {};
}

TEST(TextNormalizationCases, AllPairsHold) {
  const std::vector<Case> cases = LoadCases();
  ASSERT_GT(cases.size(), 300u) << "cannot read " << COSYVOICE_TEXT_CASES;
  std::map<std::string, int> per_class;
  for (const Case &c : cases) {
    ++per_class[c.mode + "/" + c.cls];
    EXPECT_EQ(RunCase(c), c.expected) << "text_normalization_cases.tsv:" << c.line << " [" << c.mode << " "
                                      << c.cls << "] input: " << c.input;
  }
  std::ostringstream summary;
  for (const auto &[key, count] : per_class) summary << key << "=" << count << " ";
  RecordProperty("cases_per_class", summary.str());
}

}  // namespace
}  // namespace cosyvoice
