// src/engine/stream_scheduler.h - when a streamed segment renders its next chunk (spec §8).
#pragma once

#include <optional>

namespace cosyvoice {

// The bundle's streaming parameters (config.json "streaming" and "flow").
struct StreamSchedule {
  int token_hop_len = 25;       // tokens of the first chunk (before the prompt padding)
  int token_max_hop_len = 100;  // the hop stops growing here
  int stream_scale_factor = 2;  // the hop grows by this factor after each chunk
  int pre_lookahead = 3;        // tokens the flow needs beyond a chunk's end
  int chunk_tokens = 25;        // the DiT's attention chunk in tokens (static_chunk_size / token_mel_ratio)
  // Fast mode: when the prompt's padding is at least this many tokens, the first chunk emits the
  // padding alone (0: off, the first hop is token_hop_len + pad as upstream's). Those frames share
  // their attention chunk only with the prompt's tail, so under the chunk mask they are final as
  // soon as their lookahead tokens exist: the first audio waits for pad + pre_lookahead tokens
  // instead of token_hop_len + pad + pre_lookahead (docs/streaming.md §8). Below 5 tokens a first
  // chunk would carry under ~0.15 s of audio once the vocoder holds its lookahead frames back.
  // Python: streaming.EARLY_FIRST_HOP.
  int early_first_hop = 0;
  void Validate() const;  // throws Error(kInvalidArgument) naming the field
};

// One flow + vocoder pass of a streamed segment. Tokens are the segment's flow tokens (after the
// silent-token filter); the flow runs over [0, end) with the prompt in front, and the chunk emits
// the mel (and audio) of tokens [offset, offset + hop).
struct StreamChunk {
  int offset = 0;      // tokens whose audio earlier chunks emitted
  int hop = 0;         // tokens whose audio this chunk emits
  int end = 0;         // tokens the flow sees: offset + hop + pre_lookahead, or all of them when final
  bool final = false;  // the last chunk: full attention, finalize (upstream's token2wav without stream)
};

// Upstream's CosyVoice2Model.tts streaming loop (spec §8), as a type:
//   https://github.com/FunAudioLLM/CosyVoice/blob/main/cosyvoice/cli/model.py (CosyVoice2Model.tts)
//  * the first hop is token_hop_len + pad, where pad = ceil(K / chunk) * chunk - K aligns the
//    prompt's K tokens plus the first hop to the DiT's attention chunks (or pad alone, with
//    early_first_hop: fast mode only, not upstream's);
//  * a chunk is ready once hop + pre_lookahead tokens exist past the offset;
//  * after each chunk the hop grows: hop = min(token_max_hop_len, hop * stream_scale_factor);
//  * the final chunk takes every remaining token.
// Unlike upstream, the hop restarts at token_hop_len for every segment (upstream mutates an
// instance attribute and never resets it, spec §8 "inferred bug"). Works for any token source: the
// LLM's tokens as they arrive, or a whole sequence at once (voice conversion).
class StreamScheduler {
 public:
  StreamScheduler(const StreamSchedule &schedule, int prompt_tokens);

  // With `available` flow tokens so far: the next chunk to run, or nothing until more arrive.
  // Returning a chunk commits it (the next call schedules the one after). Call until it returns
  // nothing.
  std::optional<StreamChunk> Next(int available);
  // The last chunk once every token is known: [offset, available).
  StreamChunk Final(int available) const;
  // How many more tokens `Next` needs before it returns a chunk (0: one is ready now).
  int TokensToNextChunk(int available) const;

  int offset() const { return offset_; }
  int pad() const { return pad_; }
  // Tokens whose audio the next chunk emits.
  int hop() const { return HopNow(); }

 private:
  int HopNow() const { return offset_ == 0 ? first_hop_ : hop_; }

  StreamSchedule schedule_;
  int pad_ = 0;
  int first_hop_ = 0;
  int hop_ = 0;
  int offset_ = 0;
};

}  // namespace cosyvoice
