// src/text/text_pieces.h - text arriving in arbitrary byte blocks, cut into pieces for text-in
// streaming (docs/streaming.md §6).
#pragma once

#include <string>
#include <string_view>

namespace cosyvoice::text {

// Text-in streaming tokenizes each piece on its own (as upstream does), so a word cut between two
// pieces becomes other tokens than the whole word, and a cut UTF-8 character becomes U+FFFD.
// Text read from a pipe or a socket arrives in blocks cut anywhere; this buffer hands out the
// longest prefix that ends at a boundary: after ASCII whitespace, or after CJK or fullwidth
// punctuation (U+3000-U+303F, U+FF01-U+FF0F, U+FF1A-U+FF1F: Chinese text has no spaces), which
// are always whole characters.
class TextPieceBuffer {
 public:
  void Append(std::string_view bytes) { pending_.append(bytes); }
  // The ready prefix (removed from the buffer); empty when no boundary has arrived yet.
  std::string TakeReady();
  // Everything left, for the end of the text.
  std::string TakeRest();
  bool empty() const { return pending_.empty(); }

 private:
  std::string pending_;
};

}  // namespace cosyvoice::text
