// src/text/tokenizer_files.cc
#include "text/tokenizer_files.h"

#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "cosyvoice/error.h"
#include "text/pretokenizer.h"

namespace cosyvoice {
namespace {

using nlohmann::json;

json ParseJsonFile(const std::filesystem::path &path, const char *what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kBundle, path.string() + ": " + what + " not found or unreadable");
  try {
    return json::parse(in);
  } catch (const json::exception &e) {
    throw Error(ErrorCode::kBundle, path.string() + ": not valid JSON: " + e.what());
  }
}

std::unordered_map<std::string, int32_t> VocabFromJson(const json &j, const std::string &where) {
  if (!j.is_object()) throw Error(ErrorCode::kBundle, where + ": expected a JSON object {token: id}");
  std::unordered_map<std::string, int32_t> vocab;
  vocab.reserve(j.size());
  for (const auto &[token, id] : j.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
        id.get<int64_t>() > std::numeric_limits<int32_t>::max())
      throw Error(ErrorCode::kBundle,
                  where + ": token '" + token + "': expected a non-negative 32-bit integer id");
    vocab.emplace(token, static_cast<int32_t>(id.get<int64_t>()));
  }
  return vocab;
}

// "a b" -> {"a", "b"}; byte-level tokens never contain a space, so exactly one is expected.
bool SplitMergeLine(std::string_view line, std::pair<std::string, std::string> *out) {
  const size_t space = line.find(' ');
  if (space == std::string_view::npos || space == 0 || space + 1 == line.size() ||
      line.find(' ', space + 1) != std::string_view::npos)
    return false;
  *out = {std::string(line.substr(0, space)), std::string(line.substr(space + 1))};
  return true;
}

// The merges of a merges.txt and the line each comes from.
std::vector<std::pair<std::string, std::string>> LoadMergesTxt(const std::filesystem::path &path,
                                                               std::vector<size_t> *lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kBundle, path.string() + ": merges file not found or unreadable");
  std::vector<std::pair<std::string, std::string>> merges;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("#version", 0) == 0) continue;  // header, as tokenizers skips it
    std::pair<std::string, std::string> merge;
    if (!SplitMergeLine(line, &merge))
      throw Error(ErrorCode::kBundle, path.string() + ": line " + std::to_string(line_no) +
                                          ": expected two tokens separated by one space, got '" + line + "'");
    merges.push_back(std::move(merge));
    lines->push_back(line_no);
  }
  if (in.bad()) throw Error(ErrorCode::kBundle, path.string() + ": read error");
  return merges;
}

// Checks that a tokenizer.json field holds `expected` (compared as JSON), else Error(kUnsupported).
void ExpectField(const json &root, const char *field, const std::vector<json> &accepted,
                 const std::string &where, const char *what) {
  const json value = root.contains(field) ? root[field] : json();
  for (const json &a : accepted)
    if (value == a) return;
  throw Error(ErrorCode::kUnsupported,
              where + ": field " + field + ": expected " + what + ", got " + value.dump().substr(0, 200));
}

bool IsNullOr(const json &obj, const char *key, const json &value) {
  return !obj.contains(key) || obj[key].is_null() || obj[key] == value;
}

}  // namespace

BpeFiles ReadBpeFiles(const std::filesystem::path &vocab_json, const std::filesystem::path &merges_txt,
                      const std::filesystem::path &added_tokens_json) {
  BpeFiles files;
  files.source = merges_txt.string();
  files.vocab = VocabFromJson(ParseJsonFile(vocab_json, "vocabulary file"), vocab_json.string());
  std::vector<size_t> lines;
  files.merges = LoadMergesTxt(merges_txt, &lines);
  for (size_t line : lines) files.merge_origins.push_back("line " + std::to_string(line));
  files.added_tokens = LoadAddedTokens(added_tokens_json);
  return files;
}

BpeFiles ReadTokenizerJson(const std::filesystem::path &path) {
  const json root = ParseJsonFile(path, "tokenizer file");
  const std::string where = path.string();
  if (!root.is_object()) throw Error(ErrorCode::kBundle, where + ": expected a JSON object");

  // Only Qwen2's pipeline is implemented; anything else would tokenize differently.
  ExpectField(root, "normalizer", {json{{"type", "NFC"}}}, where, "{\"type\": \"NFC\"}");
  const json pre = root.value("pre_tokenizer", json());
  const auto &seq = pre.is_object() ? pre.value("pretokenizers", json()) : json();
  const bool pre_ok = pre.is_object() && pre.value("type", "") == "Sequence" && seq.is_array() &&
                      seq.size() == 2 && seq[0].value("type", "") == "Split" &&
                      seq[0].value("behavior", "") == "Isolated" && !seq[0].value("invert", false) &&
                      seq[0].contains("pattern") &&
                      seq[0]["pattern"] == json{{"Regex", std::string(kQwen2SplitPattern)}} &&
                      seq[1].value("type", "") == "ByteLevel" && !seq[1].value("add_prefix_space", true) &&
                      !seq[1].value("use_regex", true);
  if (!pre_ok)
    throw Error(ErrorCode::kUnsupported,
                where + ": field pre_tokenizer: expected Sequence[Split(Qwen2 regex, Isolated), ByteLevel(" +
                    "add_prefix_space=false, use_regex=false)]");
  const json &decoder = root.value("decoder", json());
  if (!decoder.is_object() || decoder.value("type", "") != "ByteLevel")
    throw Error(ErrorCode::kUnsupported, where + ": field decoder: expected {\"type\": \"ByteLevel\", ...}");
  const json &post = root.value("post_processor", json());
  if (!post.is_null() && post.value("type", "") != "ByteLevel")
    throw Error(ErrorCode::kUnsupported,
                where + ": field post_processor: expected null or ByteLevel (no BOS/EOS)");
  ExpectField(root, "truncation", {json()}, where, "null");
  ExpectField(root, "padding", {json()}, where, "null");

  const json &model = root.value("model", json());
  if (!model.is_object() || model.value("type", "") != "BPE")
    throw Error(ErrorCode::kUnsupported, where + ": field model.type: expected \"BPE\"");
  const bool model_ok = IsNullOr(model, "dropout", 0.0) && IsNullOr(model, "unk_token", json()) &&
                        IsNullOr(model, "continuing_subword_prefix", "") &&
                        IsNullOr(model, "end_of_word_suffix", "") &&
                        IsNullOr(model, "byte_fallback", false) && IsNullOr(model, "ignore_merges", false);
  if (!model_ok)
    throw Error(ErrorCode::kUnsupported,
                where + ": field model: expected no dropout, unk_token, subword prefix or " +
                    "suffix, byte_fallback or ignore_merges");
  auto vocab = VocabFromJson(model.value("vocab", json()), where + ": model.vocab");
  const json &merges_json = model.value("merges", json());
  if (!merges_json.is_array())
    throw Error(ErrorCode::kBundle, where + ": field model.merges: expected an array");
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(merges_json.size());
  for (size_t i = 0; i < merges_json.size(); ++i) {
    const json &e = merges_json[i];
    std::pair<std::string, std::string> merge;
    // Two spellings exist: "a b" (older files) and ["a", "b"] (tokenizers >= 0.20).
    const bool ok = e.is_string() ? SplitMergeLine(e.get_ref<const std::string &>(), &merge)
                                  : (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string() &&
                                     ((merge = {e[0].get<std::string>(), e[1].get<std::string>()}), true));
    if (!ok)
      throw Error(ErrorCode::kBundle, where + ": model.merges[" + std::to_string(i) +
                                          "]: expected \"a b\" or [\"a\", \"b\"], got " +
                                          e.dump().substr(0, 100));
    merges.push_back(std::move(merge));
  }
  std::vector<AddedToken> added;
  const json &added_json = root.value("added_tokens", json::array());
  if (!added_json.is_array())
    throw Error(ErrorCode::kBundle, where + ": field added_tokens: expected an array");
  // tokenizers ignores the ids written in the file: it adds the tokens in file order, and a token
  // gets its vocabulary id when its content is a vocabulary entry, else the next id from the
  // vocabulary size on. Do the same, and warn like it does when the file says otherwise.
  auto next_id = static_cast<int32_t>(vocab.size());
  for (size_t i = 0; i < added_json.size(); ++i) {
    AddedToken t = AddedTokenFromJson(added_json[i], where + ": added_tokens[" + std::to_string(i) + "]");
    auto it = vocab.find(t.content);
    const int32_t id = it != vocab.end() ? it->second : next_id++;
    if (id != t.id) {
      COSY_LOG(kWarning) << where << ": added token '" << t.content << "' has id " << t.id
                         << " in the file; Hugging Face tokenizers gives it " << id
                         << ", and so does this loader";
    }
    t.id = id;
    added.push_back(std::move(t));
  }
  BpeFiles files{where, std::move(vocab), std::move(merges), {}, std::move(added)};
  for (size_t i = 0; i < files.merges.size(); ++i)
    files.merge_origins.push_back("model.merges[" + std::to_string(i) + "]");
  return files;
}

}  // namespace cosyvoice
