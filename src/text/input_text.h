// src/text/input_text.h - the one rule for text that comes from a user (docs/text-normalization.md,
// "Input text"): the text to speak, a voice's transcript, an instruction, `normalize` and `tokenize`.
//   std::string clean = text::PrepareInputText(raw, "text");   // throws or warns, see below
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cosyvoice::text {

// Length limits of the texts that become LLM prompt positions in front of every segment. A voice's
// transcript describes at most speech_tokenizer.max_seconds (30 s) of speech: fast speech is ~8
// syllables/s (240 Chinese characters = 720 bytes, ~120 English words = 700 bytes), so 4 kB is a
// 5x margin. Upstream's instructions are one short sentence ("请用四川话说这句话。", 30 bytes).
// Unbounded, a 10 MB transcript was refused only after 14 s and 497 MB, a 12 kB instruction took
// 408 MB (issue 14).
constexpr size_t kMaxTranscriptBytes = 4096;
constexpr size_t kMaxInstructionBytes = 1024;

struct CleanedText {
  std::string text;
  size_t removed_controls = 0;   // single control characters (C0/C1 other than \t \n \r, and DEL)
  size_t removed_sequences = 0;  // whole terminal escape sequences ("\x1b[31m", OSC titles, ...)
  size_t removed() const { return removed_controls + removed_sequences; }
};

// 1. Invalid UTF-8 is refused: Error(kInvalidArgument, "<what>: invalid UTF-8 at byte offset N
//    (0xNN)") - never replaced, so mis-encoded text is not read out as something else.
// 2. Control characters are removed: C0 except \t \n \r, DEL, C1 (U+0080-U+009F). A terminal escape
//    sequence goes as a whole (ESC [ ... final byte, ESC ] ... BEL or ESC \, ESC + one byte, and the
//    C1 CSI/OSC forms), so that "\x1b[31m" does not leave "[31m" to be read as "thirty-one meters".
//    \v, \f and NEL (U+0085) break lines, so they become a space rather than gluing two words.
CleanedText CleanInputText(std::string_view text, std::string_view what);

// CleanInputText, with one warning on the log when anything was removed; returns the text.
std::string PrepareInputText(std::string_view text, std::string_view what);

// Throws Error(kInvalidArgument, "<what> too long: N bytes, at most M accepted") when the text is longer
// than `max_bytes` - checked before any other work on it.
void CheckTextLength(std::string_view text, std::string_view what, size_t max_bytes);

}  // namespace cosyvoice::text
