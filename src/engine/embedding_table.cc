// src/engine/embedding_table.cc
#include "engine/embedding_table.h"

#include <cmath>
#include <cstring>

#include "common/half.h"
#include "cosyvoice/error.h"

namespace cosyvoice {

EmbeddingTable::EmbeddingTable(const std::filesystem::path &path, int64_t rows, int64_t dim)
    : path_(path), rows_(rows), dim_(dim) {
  try {
    table_ = NpyArray::Load(path, /*memory_map=*/true);
  } catch (const Error &e) {
    throw Error(ErrorCode::kBundle, e.what());
  }
  const bool type_ok = table_.dtype() == DType::kFloat32 || table_.dtype() == DType::kFloat16;
  if (!type_ok || table_.rank() != 2 || table_.dim(0) != rows || table_.dim(1) != dim) {
    throw Error(ErrorCode::kBundle, path.string() + ": expected float32 or float16 [" + std::to_string(rows) +
                                        ", " + std::to_string(dim) + "], found " + DTypeName(table_.dtype()) +
                                        " " + table_.ShapeString());
  }
}

void EmbeddingTable::CheckId(int64_t id) const {
  if (id < 0 || id >= rows_) {
    throw Error(ErrorCode::kInvalidArgument, path_.filename().string() + ": token id " + std::to_string(id) +
                                                 " outside [0, " + std::to_string(rows_) + ")");
  }
}

void EmbeddingTable::CopyRow(int64_t id, float *out) const {
  CheckId(id);
  if (table_.dtype() == DType::kFloat32) {
    std::memcpy(out, table_.data<float>() + id * dim_, static_cast<size_t>(dim_) * sizeof(float));
  } else {
    const uint16_t *row = static_cast<const uint16_t *>(table_.raw()) + id * dim_;  // float16 bits
    HalfToFloatN(row, out, static_cast<size_t>(dim_));
  }
  // Tables are memory-mapped and can be 545 MB: each row is checked when it is used (~100 ns for
  // 896 values) instead of scanning the table at load, so a damaged row is refused before it
  // reaches the LLM wherever it sits.
  for (int64_t k = 0; k < dim_; ++k) {
    if (!std::isfinite(out[k])) {
      throw Error(ErrorCode::kBundle, path_.string() + ": row " + std::to_string(id) + " (token " +
                                          std::to_string(id) +
                                          ") holds a non-finite value: the file is damaged");
    }
  }
}

void EmbeddingTable::Gather(const std::vector<int32_t> &ids, std::vector<float> &out) const {
  for (int32_t id : ids) CheckId(id);
  const size_t start = out.size();
  out.resize(start + ids.size() * static_cast<size_t>(dim_));
  for (size_t i = 0; i < ids.size(); ++i) CopyRow(ids[i], out.data() + start + i * static_cast<size_t>(dim_));
}

}  // namespace cosyvoice
