// src/cli/text_input.h - the text to speak, from an argument, --text, --text-file or stdin.
#pragma once

#include <cstddef>
#include <string>

namespace cosyvoice::cli {

// The most text one `tts` run takes (the engine's per-request limit): about an hour of speech.
// Longer input is refused before anything is loaded, without reading the rest of it.
constexpr size_t kMaxTextBytes = 100000;

// Reads `path` ("-": stdin) as the text to speak. Error(kIo) naming the file when it cannot be read
// (missing, a directory, no permission); Error(kInvalidArgument) when it holds more than
// kMaxTextBytes.
std::string ReadTextInput(const std::string &path);

// Whether stdin is a terminal (then it is never read implicitly).
bool StdinIsTerminal();

}  // namespace cosyvoice::cli
