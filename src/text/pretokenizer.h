// src/text/pretokenizer.h - Qwen2's pre-tokenizer regex as a hand-written scanner.
#pragma once

#include <string_view>
#include <vector>

namespace cosyvoice {

// The pattern as written in Qwen2's tokenizer.json (pre_tokenizer.pretokenizers[0].pattern.Regex).
inline constexpr std::string_view kQwen2SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// The Split pre-tokenizer of Qwen2 (behavior Isolated), i.e. the successive matches of
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|
//   ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// with Oniguruma's semantics (what Hugging Face tokenizers runs): the first alternative that matches
// at a position wins, `\s` is White_Space, and `(?i)` uses Unicode case folding (so `'ſ` is a
// contraction). Every character is covered by some alternative, so the pieces tile `text`.
// Appends views into `text` to `pieces`. `text` must be well-formed UTF-8.
void PreTokenizeQwen2(std::string_view text, std::vector<std::string_view> *pieces);

}  // namespace cosyvoice
