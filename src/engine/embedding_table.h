// src/engine/embedding_table.h - memory-mapped embedding tables gathered row by row in C++.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "common/npy.h"

namespace cosyvoice {

// A [rows, dim] .npy table of float32 or float16 (the bundle's llm/text_embedding.npy,
// llm/speech_embedding.npy, or a variant's llm/text_embedding_fp16.npy, docs/bundle.md §7).
// Mapped, not read: the 545 MB text table costs no load time and only the rows actually used are
// paged in. Rows come out as float32 (float16 is widened exactly).
class EmbeddingTable {
 public:
  // Throws Error(kBundle) naming the file if it is not float32/float16 [rows, dim].
  EmbeddingTable(const std::filesystem::path &path, int64_t rows, int64_t dim);
  int64_t rows() const { return rows_; }
  int64_t dim() const { return dim_; }
  DType dtype() const { return table_.dtype(); }
  // Writes row `id` to out[0 .. dim). Throws Error(kInvalidArgument) for an id outside [0, rows).
  void CopyRow(int64_t id, float *out) const;
  // Appends the rows of `ids` to `out` (row-major [ids.size(), dim]).
  void Gather(const std::vector<int32_t> &ids, std::vector<float> &out) const;

 private:
  void CheckId(int64_t id) const;
  std::filesystem::path path_;
  NpyArray table_;
  int64_t rows_, dim_;
};

}  // namespace cosyvoice
