// src/engine/voice_file.h - the bytes of a voice file (docs/voice-format.md), for writers that
// manage the file themselves (the CLI opens its output before the model loads).
#pragma once

#include <string>

#include "cosyvoice/cosyvoice.h"

namespace cosyvoice {

// What Voice::Save writes. `source` is reduced to its file name (no directories are stored).
std::string EncodeVoiceFile(const Voice &voice);

}  // namespace cosyvoice
