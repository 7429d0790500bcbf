// src/engine/variants.h - bundle variants (docs/bundle.md §7) and the --precision choice among them.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cosyvoice {

struct BundleConfig;

// One entry of config.json's "variants": alternative files for one family (llm, flow, hift,
// frontend), e.g. the int4 LLM graph with an fp16 text table.
struct VariantConfig {
  std::string family;
  std::string name;       // unique in the family
  std::string precision;  // fp32 | fp16 | int8 | int4
  std::vector<std::string> providers;
  std::map<std::string, std::string> files;  // family field ("file", "estimator", ...) -> bundle path
  std::map<std::string, double> speedup;     // provider -> measured factor vs the base files
  std::string gate_status;                   // untested | passed | failed | parity
  std::string quantization;                  // the free-form description, as compact JSON
  bool MadeFor(const std::string &provider) const;
  // "passed" or "parity": what --precision auto may choose.
  bool Trusted() const { return gate_status == "passed" || gate_status == "parity"; }
};

// family -> its variants in config order (the exporter lists them fastest first).
using VariantMap = std::map<std::string, std::vector<VariantConfig>>;

// The fields of each family that name files (docs/bundle.md §7).
const std::map<std::string, std::vector<std::string>> &VariantFamilyFields();

// Reads config.json's "variants" object; `listed` tells whether a path is in the bundle's `files`
// (every variant file must be). Throws Error(kBundle) naming the field, like the rest of the
// config reader.
// `variants` is the raw JSON value, `file` the config path for messages.
VariantMap ReadVariants(const nlohmann::json &variants, const std::string &file,
                        const std::function<bool(const std::string &)> &listed);

// The precision that names a family's base files (fp32, standard operators), never a variant.
inline constexpr const char *kBasePrecision = "base";

// What --precision / ModelConfig::precision asks for: one choice for every family ("auto",
// "int4", a variant name) and/or per family ("llm=int4,flow=int8"). Families not named: `fallback`.
struct PrecisionRequest {
  std::string fallback = "fp32";
  std::map<std::string, std::string> per_family;
  // Throws Error(kInvalidArgument) naming the text and what was expected.
  static PrecisionRequest Parse(const std::string &text);
  const std::string &For(const std::string &family) const;
};

// The variant a request resolves to for one family; `variant` null means the base (fp32) files.
struct VariantChoice {
  std::string family;
  std::string requested;
  const VariantConfig *variant = nullptr;
  std::string warning;  // non-empty when the chosen variant has not passed the A/B gate
};

// Picks per docs/bundle.md §7 for the active execution provider. Throws Error(kInvalidArgument)
// when an explicit precision or name has no variant for that provider, listing what exists.
VariantChoice SelectVariant(const VariantMap &variants, const std::string &family,
                            const std::string &requested, const std::string &provider);

// ModelConfig::precision resolved for every family, in VariantFamilyFields() order. A precision
// given for all families ("int4") applies where the bundle has it and means fp32 elsewhere, but
// must exist somewhere; one given per family must exist for that family. Throws
// Error(kInvalidArgument) otherwise.
std::vector<VariantChoice> ChooseVariants(const VariantMap &variants, const std::string &precision,
                                          const std::string &provider);

// Points the family's file fields of `config` at the variant's files.
void ApplyVariant(BundleConfig &config, const VariantConfig &variant);

// The files `config`'s variant-replaceable fields name (every field of VariantFamilyFields): what a
// load reads for each of those parts.
std::set<std::string> VariantSlotFiles(const BundleConfig &config);

}  // namespace cosyvoice
