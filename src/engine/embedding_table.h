// src/engine/embedding_table.h - memory-mapped embedding tables gathered row by row in C++.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "common/npy.h"

namespace cosyvoice {

// A float32 [rows, dim] .npy table (the bundle's llm/text_embedding.npy and
// llm/speech_embedding.npy). Mapped, not read: the 545 MB text table costs no load time and only
// the rows actually used are paged in.
class EmbeddingTable {
 public:
  // Throws Error(kBundle) naming the file if it is not float32 [rows, dim].
  EmbeddingTable(const std::filesystem::path &path, int64_t rows, int64_t dim);
  int64_t rows() const { return rows_; }
  int64_t dim() const { return dim_; }
  // Throws Error(kInvalidArgument) for an id outside [0, rows).
  const float *Row(int64_t id) const;
  // Appends the rows of `ids` to `out` (row-major [ids.size(), dim]).
  void Gather(const std::vector<int32_t> &ids, std::vector<float> &out) const;

 private:
  std::filesystem::path path_;
  NpyArray table_;
  int64_t rows_, dim_;
};

}  // namespace cosyvoice
