// cosyvoice/version.h - library and bundle-format versions.
#pragma once

namespace cosyvoice {

inline constexpr const char *kVersion = "0.1.0";
// The bundle format this build reads (docs/bundle.md, "Versioning"). A bundle whose
// format_version major differs is refused; a newer minor is refused too (it may need features
// this build lacks); an older minor is accepted.
inline constexpr int kBundleFormatMajor = 1;
inline constexpr int kBundleFormatMinor = 1;  // 1.1: variants (docs/bundle.md §7)

// The ONNX Runtime library version actually loaded at run time, e.g. "1.30.0".
const char *OrtVersionString();

}  // namespace cosyvoice
