// src/common/json_reader.cc
#include "common/json_reader.h"

#include <fstream>
#include <sstream>

#include "cosyvoice/error.h"

namespace cosyvoice {
namespace {

std::string Shown(const nlohmann::json &v) {
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 60) + "..." : s;
}

}  // namespace

JsonObjectReader::JsonObjectReader(const nlohmann::json &object, std::string file, std::string path)
    : object_(object), file_(std::move(file)), path_(std::move(path)) {
  if (!object_.is_object()) {
    throw Error(ErrorCode::kBundle,
                file_ + ": " + (path_.empty() ? "top level" : "field " + path_) + ": expected a JSON object");
  }
}

std::string JsonObjectReader::FieldName(const std::string &key) const {
  return path_.empty() ? key : path_ + "." + key;
}

void JsonObjectReader::Fail(const std::string &key, const std::string &what) const {
  throw Error(ErrorCode::kBundle, file_ + ": field " + FieldName(key) + ": " + what);
}

bool JsonObjectReader::Has(const std::string &key) const {
  return object_.contains(key);
}

const nlohmann::json &JsonObjectReader::Get(const std::string &key) {
  auto it = object_.find(key);
  if (it == object_.end()) Fail(key, "missing");
  read_.insert(key);
  return *it;
}

const nlohmann::json &JsonObjectReader::Raw(const std::string &key) {
  return Get(key);
}

std::string JsonObjectReader::String(const std::string &key) {
  const auto &v = Get(key);
  if (!v.is_string()) Fail(key, "expected a string, got " + Shown(v));
  return v.get<std::string>();
}

bool JsonObjectReader::Bool(const std::string &key) {
  const auto &v = Get(key);
  if (!v.is_boolean()) Fail(key, "expected true or false, got " + Shown(v));
  return v.get<bool>();
}

int64_t JsonObjectReader::Int(const std::string &key, int64_t min, int64_t max) {
  const auto &v = Get(key);
  if (!v.is_number_integer()) Fail(key, "expected an integer, got " + Shown(v));
  const int64_t x = v.get<int64_t>();
  if (x < min || x > max) {
    Fail(key, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                  std::to_string(x));
  }
  return x;
}

double JsonObjectReader::Number(const std::string &key, double min, double max) {
  const auto &v = Get(key);
  if (!v.is_number()) Fail(key, "expected a number, got " + Shown(v));
  const double x = v.get<double>();
  if (!(x >= min && x <= max)) {
    std::ostringstream os;
    os << "expected a number in [" << min << ", " << max << "], got " << x;
    Fail(key, os.str());
  }
  return x;
}

std::vector<int64_t> JsonObjectReader::IntArray(const std::string &key, int64_t min, int64_t max) {
  const auto &v = Get(key);
  if (!v.is_array()) Fail(key, "expected an array of integers, got " + Shown(v));
  std::vector<int64_t> out;
  for (const auto &e : v) {
    if (!e.is_number_integer()) Fail(key, "expected an array of integers, found " + Shown(e));
    const int64_t x = e.get<int64_t>();
    if (x < min || x > max) {
      Fail(key, "element " + std::to_string(x) + " outside [" + std::to_string(min) + ", " +
                    std::to_string(max) + "]");
    }
    out.push_back(x);
  }
  return out;
}

JsonObjectReader JsonObjectReader::Object(const std::string &key) {
  const auto &v = Get(key);
  if (!v.is_object()) Fail(key, "expected a JSON object, got " + Shown(v));
  return JsonObjectReader(v, file_, FieldName(key));
}

std::vector<std::string> JsonObjectReader::ObjectKeys(const std::string &key) {
  const auto &v = Get(key);
  if (!v.is_object()) Fail(key, "expected a JSON object, got " + Shown(v));
  std::vector<std::string> keys;
  for (auto it = v.begin(); it != v.end(); ++it) keys.push_back(it.key());
  return keys;
}

void JsonObjectReader::Finish() const {
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (!read_.count(it.key())) {
      throw Error(ErrorCode::kBundle, file_ + ": unknown field " + FieldName(it.key()) +
                                          " (not part of this format version; see docs/bundle.md)");
    }
  }
}

nlohmann::json ReadJsonFile(const std::string &path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::kBundle, path + ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception &e) {  // parse_error, and out_of_range for 1e400
    throw Error(ErrorCode::kBundle, path + ": invalid JSON: " + e.what());
  }
}

}  // namespace cosyvoice
