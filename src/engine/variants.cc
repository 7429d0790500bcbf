// src/engine/variants.cc
#include "engine/variants.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "common/json_reader.h"
#include "cosyvoice/error.h"
#include "engine/bundle_config.h"

namespace cosyvoice {
namespace {

const std::vector<std::string> kPrecisions = {"fp32", "fp16", "int8", "int4"};
const std::vector<std::string> kGateStatuses = {"untested", "passed", "failed", "parity"};
// Every provider RuntimeConfig knows (models/providers.cc).
const std::vector<std::string> kProviders = {"cpu",      "webgpu", "cuda",    "tensorrt", "coreml",
                                             "directml", "nnapi",  "xnnpack", "openvino"};

bool OneOf(const std::string &x, const std::vector<std::string> &set) {
  return std::find(set.begin(), set.end(), x) != set.end();
}

std::string Join(const std::vector<std::string> &v) {
  std::string s;
  for (const auto &x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

bool ValidName(const std::string &name) {
  if (name.empty() || name.size() > 40) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool ok = std::islower(c) || std::isdigit(c) || (i > 0 && (c == '_' || c == '-'));
    if (!ok) return false;
  }
  return true;
}

VariantConfig ReadOne(JsonObjectReader r, const std::string &family,
                      const std::function<bool(const std::string &)> &listed) {
  VariantConfig v;
  v.family = family;
  v.name = r.String("name");
  if (!ValidName(v.name))
    r.Fail("name", "expected [a-z0-9][a-z0-9_-]* (at most 40 characters), got \"" + v.name + "\"");
  if (v.name == kBasePrecision || v.name == "auto")
    r.Fail("name", "\"" + v.name + "\" is a precision keyword, not a variant name");
  v.precision = r.String("precision");
  if (!OneOf(v.precision, kPrecisions)) r.Fail("precision", "expected one of " + Join(kPrecisions));
  const auto &providers = r.Raw("providers");
  if (!providers.is_array() || providers.empty())
    r.Fail("providers", "expected a non-empty array of providers");
  for (const auto &p : providers) {
    if (!p.is_string() || !OneOf(p.get<std::string>(), kProviders))
      r.Fail("providers", "expected provider names among " + Join(kProviders));
    v.providers.push_back(p.get<std::string>());
  }
  {
    const auto &fields = VariantFamilyFields().at(family);
    auto f = r.Object("files");
    for (const auto &key : r.ObjectKeys("files")) {
      if (!OneOf(key, fields))
        f.Fail(key, "not a file field of " + family + "; expected one of " + Join(fields));
      const std::string rel = f.String(key);
      if (!listed(rel)) f.Fail(key, "\"" + rel + "\" is not listed in files");
      v.files[key] = rel;
    }
    if (v.files.empty()) r.Fail("files", "expected at least one file");
  }
  if (r.Has("quantization")) v.quantization = r.Raw("quantization").dump();
  if (r.Has("speedup")) {
    auto s = r.Object("speedup");
    for (const auto &p : r.ObjectKeys("speedup")) {
      if (!OneOf(p, kProviders)) s.Fail(p, "not a provider (" + Join(kProviders) + ")");
      v.speedup[p] = s.Number(p, 1e-6, 1e6);
    }
  }
  {
    auto g = r.Object("gate");
    v.gate_status = g.String("status");
    if (!OneOf(v.gate_status, kGateStatuses)) g.Fail("status", "expected one of " + Join(kGateStatuses));
    // the A/B tool's record: informational to the engine (docs/quantization.md)
    for (const char *k : {"provider", "tool", "date", "cases", "figures", "thresholds", "report"})
      if (g.Has(k)) g.Raw(k);
    g.Finish();
  }
  r.Finish();
  return v;
}

}  // namespace

namespace {

// Every file field a variant may replace, and where it lives in BundleConfig: the one list that
// VariantFamilyFields, ApplyVariant and VariantSlotFiles read (three hand lists drifted apart:
// the verifier's missed the streaming chunk graph).
struct VariantSlot {
  const char *family;
  const char *field;
  std::string &(*in)(BundleConfig &);
};
const std::vector<VariantSlot> &VariantSlots() {
  static const std::vector<VariantSlot> kSlots = {
      {"llm", "file", [](BundleConfig &c) -> std::string & { return c.llm.file; }},
      {"llm", "text_embedding", [](BundleConfig &c) -> std::string & { return c.llm.text_embedding; }},
      {"llm", "speech_embedding", [](BundleConfig &c) -> std::string & { return c.llm.speech_embedding; }},
      {"flow", "encoder", [](BundleConfig &c) -> std::string & { return c.flow.encoder; }},
      {"flow", "estimator", [](BundleConfig &c) -> std::string & { return c.flow.estimator; }},
      {"flow", "estimator_chunk.file",
       [](BundleConfig &c) -> std::string & { return c.flow.estimator_chunk.file; }},
      {"hift", "f0", [](BundleConfig &c) -> std::string & { return c.hift.f0; }},
      {"hift", "generator", [](BundleConfig &c) -> std::string & { return c.hift.generator; }},
      {"frontend", "speech_tokenizer.file",
       [](BundleConfig &c) -> std::string & { return c.speech_tokenizer.file; }},
      {"frontend", "campplus.file", [](BundleConfig &c) -> std::string & { return c.campplus.file; }},
  };
  return kSlots;
}

}  // namespace

const std::map<std::string, std::vector<std::string>> &VariantFamilyFields() {
  static const std::map<std::string, std::vector<std::string>> kFields = [] {
    std::map<std::string, std::vector<std::string>> out;
    for (const VariantSlot &s : VariantSlots()) out[s.family].push_back(s.field);
    return out;
  }();
  return kFields;
}

std::set<std::string> VariantSlotFiles(const BundleConfig &config) {
  std::set<std::string> out;
  for (const VariantSlot &s : VariantSlots()) {
    const std::string &rel = s.in(const_cast<BundleConfig &>(config));  // read only
    if (!rel.empty()) out.insert(rel);
  }
  return out;
}

bool VariantConfig::MadeFor(const std::string &provider) const {
  return OneOf(provider, providers);
}

VariantMap ReadVariants(const nlohmann::json &variants, const std::string &file,
                        const std::function<bool(const std::string &)> &listed) {
  auto fail = [&](const std::string &field, const std::string &what) {
    throw Error(ErrorCode::kBundle, file + ": field " + field + ": " + what);
  };
  if (!variants.is_object()) fail("variants", "expected an object of family -> list of variants");
  VariantMap out;
  for (auto it = variants.begin(); it != variants.end(); ++it) {
    const std::string &family = it.key();
    const std::string where = "variants." + family;
    if (!VariantFamilyFields().count(family)) {
      std::string known;
      for (const auto &[f, fields] : VariantFamilyFields()) known += (known.empty() ? "" : ", ") + f;
      fail(where, "unknown family; expected one of " + known);
    }
    if (!it.value().is_array() || it.value().empty()) fail(where, "expected a non-empty list of variants");
    auto &list = out[family];
    for (size_t i = 0; i < it.value().size(); ++i) {
      const std::string path = where + "[" + std::to_string(i) + "]";
      list.push_back(ReadOne(JsonObjectReader(it.value()[i], file, path), family, listed));
      for (size_t j = 0; j + 1 < list.size(); ++j)
        if (list[j].name == list.back().name)
          fail(path + ".name", "duplicate variant name \"" + list[j].name + "\"");
    }
  }
  return out;
}

// ---- --precision ---------------------------------------------------------------------------------

PrecisionRequest PrecisionRequest::Parse(const std::string &text) {
  PrecisionRequest req;
  auto bad = [&](const std::string &why) {
    throw Error(
        ErrorCode::kInvalidArgument,
        "precision '" + text + "': " + why +
            " (expected fp32, fp16, int8, int4, auto, base or a variant name, for every family or per "
            "family as llm=int4,flow=int8)");
  };
  std::stringstream ss(text);
  std::string item;
  bool any = false;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) bad("empty item");
    const size_t eq = item.find('=');
    const std::string family = eq == std::string::npos ? "" : item.substr(0, eq);
    const std::string value = eq == std::string::npos ? item : item.substr(eq + 1);
    if (value != "auto" && !ValidName(value)) bad("'" + value + "' is not a precision or variant name");
    if (family.empty()) {
      req.fallback = value;
    } else {
      if (!VariantFamilyFields().count(family)) bad("unknown family '" + family + "'");
      if (req.per_family.count(family)) bad("family '" + family + "' given twice");
      req.per_family[family] = value;
    }
    any = true;
  }
  if (!any) bad("empty");
  return req;
}

const std::string &PrecisionRequest::For(const std::string &family) const {
  auto it = per_family.find(family);
  return it == per_family.end() ? fallback : it->second;
}

VariantChoice SelectVariant(const VariantMap &variants, const std::string &family,
                            const std::string &requested, const std::string &provider) {
  VariantChoice c;
  c.family = family;
  c.requested = requested;
  static const std::vector<VariantConfig> kNone;
  auto it = variants.find(family);
  const std::vector<VariantConfig> &list = it == variants.end() ? kNone : it->second;
  auto usable = [&](const VariantConfig &v) { return v.MadeFor(provider); };

  // The bundle's own files, even where an fp32-equivalent variant exists (to compare with it, or to
  // run graphs of standard operators only).
  if (requested == kBasePrecision) return c;

  // An fp32-equivalent variant (e.g. the fused LLM graph), else the base. Its status is `parity` as
  // made; `variant record` may replace that with an A/B verdict, and `passed` must not demote it.
  if (requested == "fp32") {
    for (const auto &v : list)
      if (usable(v) && v.precision == "fp32" && v.Trusted()) {
        c.variant = &v;
        break;
      }
    return c;
  }
  if (requested == "auto") {
    const VariantConfig *best = nullptr;
    double best_speed = 0;
    for (const auto &v : list) {
      if (!usable(v) || !v.Trusted()) continue;
      auto sp = v.speedup.find(provider);
      const double speed = sp == v.speedup.end() ? 0.0 : sp->second;  // unmeasured: list order
      if (best == nullptr || speed > best_speed) {
        best = &v;
        best_speed = speed;
      }
    }
    if (best != nullptr) {
      c.variant = best;
      return c;
    }
    return SelectVariant(variants, family, "fp32", provider);
  }
  for (const auto &v : list) {
    if (usable(v) && (v.name == requested || v.precision == requested)) {
      c.variant = &v;
      break;
    }
  }
  if (c.variant == nullptr) {
    // An fp32 variant asked for by its name (the fused LLM graph: fp32-equivalent, checked against
    // fp32 by parity, not by an A/B gate) is honoured on a provider it was not made for; quantized
    // ones are not, and `auto` never does this.
    for (const auto &v : list) {
      if (v.name == requested && v.precision == "fp32") {
        c.variant = &v;
        c.warning = family + " variant '" + v.name + "' was checked for " + Join(v.providers) + ", not for " +
                    provider + ": its A/B gate figures do not cover this provider (docs/gpu.md)";
        return c;
      }
    }
  }
  if (c.variant == nullptr) {
    std::string have;
    for (const auto &v : list) {
      have += (have.empty() ? "" : ", ") + v.name + " (" + v.precision + ", " + Join(v.providers) + ")";
    }
    throw Error(ErrorCode::kInvalidArgument,
                "precision " + family + "=" + requested + ": the bundle has no such " + family +
                    " variant for the " + provider + " provider (it has: " + (have.empty() ? "none" : have) +
                    "); make one with `python3 -m cosyvoice_export quantize`");
  }
  if (!c.variant->Trusted()) {
    c.warning = family + " variant '" + c.variant->name + "' has A/B gate status '" + c.variant->gate_status +
                "' (docs/quantization.md): its quality has not been shown to match fp32";
  }
  return c;
}

std::vector<VariantChoice> ChooseVariants(const VariantMap &variants, const std::string &precision,
                                          const std::string &provider) {
  const PrecisionRequest request = PrecisionRequest::Parse(precision);
  const std::string &global = request.fallback;
  const bool global_explicit = global != "fp32" && global != "auto" && global != kBasePrecision;
  bool global_matched = false;
  std::vector<VariantChoice> out;
  for (const auto &[family, fields] : VariantFamilyFields()) {
    std::string want = request.For(family);
    if (global_explicit && !request.per_family.count(family)) {
      const auto it = variants.find(family);
      const bool has =
          it != variants.end() && std::any_of(it->second.begin(), it->second.end(), [&](const auto &v) {
            return v.MadeFor(provider) && (v.name == want || v.precision == want);
          });
      global_matched = global_matched || has;
      if (!has) want = "fp32";
    }
    out.push_back(SelectVariant(variants, family, want, provider));
  }
  if (global_explicit && !global_matched) {
    throw Error(ErrorCode::kInvalidArgument, "precision '" + global + "': the bundle has no " + global +
                                                 " variant for the " + provider +
                                                 " provider (`cosyvoice info` lists its variants)");
  }
  return out;
}

void ApplyVariant(BundleConfig &config, const VariantConfig &v) {
  for (const auto &[field, rel] : v.files) {
    for (const VariantSlot &s : VariantSlots()) {
      if (v.family != s.family || field != s.field) continue;
      std::string &slot = s.in(config);
      // the streaming chunk graph of the same DiT (docs/streaming.md): a variant that has one
      // keeps exact/fast streaming in its precision
      if (field == "estimator_chunk.file" && slot.empty()) {
        throw Error(ErrorCode::kBundle, config.config_path.string() + ": flow variant '" + v.name +
                                            "' has an estimator_chunk, but flow.estimator_chunk is absent");
      }
      slot = rel;
    }
  }
}

}  // namespace cosyvoice
