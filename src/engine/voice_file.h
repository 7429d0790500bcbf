// src/engine/voice_file.h - the voice file format (docs/voice-format.md) without the file system:
// parsed and checked on bytes (tested and fuzzed that way), and encoded for writers that manage the
// file themselves (the CLI opens its output before the model loads).
#pragma once

#include <string>
#include <string_view>

#include "cosyvoice/cosyvoice.h"

namespace cosyvoice {

// Voice files are ~30 KB for a 10 s prompt (at most ~0.5 MB for 30 s); anything over this is not one.
constexpr size_t kMaxVoiceFileBytes = 16u << 20;

// Parses a whole voice file. Every error is Error(kInvalidArgument) starting "<name>: not a usable
// voice file: ...": bad magic or version, sizes out of range or inconsistent with the payload, a
// checksum mismatch, or values a voice cannot hold (CheckVoiceValues).
Voice ParseVoiceFile(std::string_view bytes, const std::string &name);

// Values no voice can hold, whatever produced it: a non-finite speaker embedding or prompt mel
// value (one NaN gave an all-zero WAV), a negative speech token, a non-finite or negative duration,
// a transcript longer than text::kMaxTranscriptBytes or not UTF-8. Throws Error(kInvalidArgument)
// naming `name` and the field (and the index of the first bad value).
void CheckVoiceValues(const Voice &voice, const std::string &name);

// What Voice::Save writes (after CheckVoiceValues). `source` is reduced to its file name (no
// directories are stored).
std::string EncodeVoiceFile(const Voice &voice);

}  // namespace cosyvoice
