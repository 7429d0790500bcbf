// src/common/json_reader.h - strict reading of JSON config objects.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace cosyvoice {

// Reads one JSON object field by field. Every error names the file and the field path
// ("bundle/config.json: field llm.num_layers: expected an integer >= 1, got 0"), and Finish()
// refuses keys nobody asked for, so a typo never silently falls back to a default.
class JsonObjectReader {
 public:
  JsonObjectReader(const nlohmann::json &object, std::string file, std::string path = "");

  bool Has(const std::string &key) const;

  std::string String(const std::string &key);
  bool Bool(const std::string &key);
  int64_t Int(const std::string &key, int64_t min, int64_t max);
  double Number(const std::string &key, double min, double max);
  std::vector<int64_t> IntArray(const std::string &key, int64_t min, int64_t max);
  JsonObjectReader Object(const std::string &key);
  // Keys of a nested object whose keys are data (e.g. file names), all marked as read.
  std::vector<std::string> ObjectKeys(const std::string &key);
  const nlohmann::json &Raw(const std::string &key);

  // Throws for keys present in the object but never read.
  void Finish() const;

  [[noreturn]] void Fail(const std::string &key, const std::string &what) const;
  std::string FieldName(const std::string &key) const;
  const std::string &file() const { return file_; }

 private:
  const nlohmann::json &Get(const std::string &key);
  const nlohmann::json &object_;
  std::string file_;
  std::string path_;
  std::set<std::string> read_;
};

// Parses a whole JSON file; throws Error(kBundle) with the parser's position on malformed JSON.
nlohmann::json ReadJsonFile(const std::string &path);

}  // namespace cosyvoice
