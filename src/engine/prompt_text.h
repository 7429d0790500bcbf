// src/engine/prompt_text.h - CosyVoice3's <|endofprompt|> conventions, handled for the user.
#pragma once

#include <string>

namespace cosyvoice {

// CosyVoice3 needs the end-of-prompt marker exactly once in (prompt text ++ text): the LLM was
// trained on "<system prompt><|endofprompt|><transcript or text>". These helpers add it where the
// user left it out, and refuse what cannot carry it (docs/reference.md).
struct PromptConventions {
  std::string system_prompt = "You are a helpful assistant.";
  std::string marker = "<|endofprompt|>";

  // Zero-shot transcript: "<system><marker><transcript>" unless it already has the marker.
  std::string ZeroShotPrompt(const std::string &transcript) const;
  // Cross-lingual text segment: "<system><marker><segment>" unless it already has the marker.
  std::string CrossLingualText(const std::string &segment) const;
  // Instruct2 instruction: "<system> <instruction><marker>" unless it already ends with the marker.
  std::string InstructPrompt(const std::string &instruction) const;
  // Throws Error(kInvalidArgument) unless the marker occurs exactly once in prompt + text.
  void CheckOneMarker(const std::string &prompt, const std::string &text) const;
};

size_t CountOccurrences(const std::string &haystack, const std::string &needle);

}  // namespace cosyvoice
