// src/engine/prompt_text.cc
#include "engine/prompt_text.h"

#include "cosyvoice/error.h"

namespace cosyvoice {

size_t CountOccurrences(const std::string &haystack, const std::string &needle) {
  if (needle.empty()) return 0;
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size()))
    ++n;
  return n;
}

std::string PromptConventions::ZeroShotPrompt(const std::string &transcript) const {
  if (transcript.find(marker) != std::string::npos) return transcript;
  return system_prompt + marker + transcript;
}

std::string PromptConventions::CrossLingualText(const std::string &segment) const {
  if (segment.find(marker) != std::string::npos) return segment;
  return system_prompt + marker + segment;
}

std::string PromptConventions::InstructPrompt(const std::string &instruction) const {
  if (instruction.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw Error(ErrorCode::kInvalidArgument,
                "instruct2 mode needs an instruction (e.g. \"请用四川话说这句话。\")");
  }
  const size_t at = instruction.find(marker);
  if (at == std::string::npos) return system_prompt + " " + instruction + marker;
  if (at + marker.size() != instruction.size()) {
    throw Error(ErrorCode::kInvalidArgument,
                "instruction: " + marker + " must end the instruction (the text to speak comes after it)");
  }
  return instruction;
}

void PromptConventions::CheckOneMarker(const std::string &prompt, const std::string &text) const {
  const size_t n = CountOccurrences(prompt, marker) + CountOccurrences(text, marker);
  if (n != 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "CosyVoice3 needs " + marker + " exactly once in prompt + text, found " + std::to_string(n) +
                    (n > 1 ? " (remove it from the text: the engine adds it to the prompt)" : ""));
  }
}

}  // namespace cosyvoice
