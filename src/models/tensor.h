// src/models/tensor.h - small helpers between std containers and Ort::Value.
#pragma once

#include <onnxruntime_cxx_api.h>  // NOLINT

#include <cstdint>
#include <string>
#include <vector>

#include "common/npy.h"

namespace cosyvoice {

ONNXTensorElementDataType ToOrtType(DType dtype);
// Throws Error(kUnsupported) for element types the project never uses (strings, complex, ...).
DType FromOrtType(ONNXTensorElementDataType type);
std::string ShapeToString(const std::vector<int64_t> &shape);  // "[1, -1, 80]"

// CPU memory description shared by every tensor view the engine creates.
const Ort::MemoryInfo &CpuMemoryInfo();

// A tensor that views caller-owned memory (no copy). The memory must outlive the value.
template <typename T>
Ort::Value TensorView(T *data, const std::vector<int64_t> &shape) {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return Ort::Value::CreateTensor<T>(CpuMemoryInfo(), data, n, shape.data(), shape.size());
}
template <typename T>
Ort::Value TensorView(std::vector<T> &data, const std::vector<int64_t> &shape) {
  return TensorView<T>(data.data(), shape);
}
// View of an .npy array (read-only data is never written by ONNX Runtime inputs).
Ort::Value TensorView(const NpyArray &array);

// Copies a tensor's contents out (checks the element type).
template <typename T>
std::vector<T> ToVector(const Ort::Value &value) {
  auto info = value.GetTensorTypeAndShapeInfo();
  const T *p = value.GetTensorData<T>();
  return std::vector<T>(p, p + info.GetElementCount());
}
std::vector<int64_t> TensorShape(const Ort::Value &value);

}  // namespace cosyvoice
