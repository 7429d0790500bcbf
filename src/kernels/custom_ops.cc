// src/kernels/custom_ops.cc - WinogradConv1d, Snake and PanelMatMul as ONNX Runtime custom operators
// (custom_ops.h).
// Errors reach ONNX Runtime as OrtStatus (the V2 entry points): no exception crosses its C API.
#include "kernels/custom_ops.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/panel_matmul.h"
#include "kernels/snake.h"
#include "kernels/winograd_conv1d.h"

namespace cosyvoice::kernels {
namespace {

constexpr const char *kOpName = "WinogradConv1d";

// What both operators share: three float inputs, one float output, the CPU provider, and a kernel
// whose constructor's exceptions come back to ONNX Runtime as a status.
template <typename TOp, typename TKernel>
struct FloatCpuOp : Ort::CustomOpBase<TOp, TKernel, true> {
  OrtStatusPtr CreateKernelV2(const OrtApi &api, const OrtKernelInfo *info, void **kernel) const {
    try {
      *kernel = new TKernel(api, info);
      return nullptr;
    } catch (const std::exception &e) {
      return api.CreateStatus(ORT_INVALID_ARGUMENT, e.what());
    }
  }
  const char *GetExecutionProviderType() const { return "CPUExecutionProvider"; }
  size_t GetInputTypeCount() const { return 3; }
  ONNXTensorElementDataType GetInputType(size_t) const { return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; }
  size_t GetOutputTypeCount() const { return 1; }
  ONNXTensorElementDataType GetOutputType(size_t) const { return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; }
};

std::vector<int64_t> IntsOr(const Ort::ConstKernelInfo &info, const char *name,
                            std::vector<int64_t> fallback) {
  try {
    return info.GetAttributes<int64_t>(name);
  } catch (const Ort::Exception &) {  // absent: the ONNX default
    return fallback;
  }
}

// The constant float initializer at input `index` of operator `op` (rank checked when > 0).
Ort::ConstValue ConstantInput(const Ort::ConstKernelInfo &info, size_t index, const char *op,
                              const char *what, size_t rank = 0) {
  int is_constant = 0;
  Ort::ConstValue value = info.GetTensorConstantInput(index, &is_constant);
  const std::string name = std::string(op) + ": input " + what;
  if (!is_constant) throw std::invalid_argument(name + " must be a constant initializer");
  const auto type = value.GetTensorTypeAndShapeInfo();
  if (type.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
    throw std::invalid_argument(name + " must be float");
  if (rank > 0 && type.GetShape().size() != rank)
    throw std::invalid_argument(name + " must be a float tensor of rank " + std::to_string(rank));
  return value;
}

Conv1dShape ShapeFrom(const Ort::ConstKernelInfo &info, const std::vector<int64_t> &w) {
  const std::vector<int64_t> dilations = IntsOr(info, "dilations", {1});
  const std::vector<int64_t> pads = IntsOr(info, "pads", {0, 0});
  const std::vector<int64_t> kernel_shape = IntsOr(info, "kernel_shape", {w[2]});
  if (dilations.size() != 1 || pads.size() != 2 || kernel_shape.size() != 1 || kernel_shape[0] != w[2])
    throw std::invalid_argument(
        std::string(kOpName) +
        ": expected dilations [d], pads [left, right] and kernel_shape [k] matching W");
  Conv1dShape shape;
  shape.out_channels = static_cast<int>(w[0]);
  shape.in_channels = static_cast<int>(w[1]);
  shape.kernel = static_cast<int>(w[2]);
  shape.dilation = static_cast<int>(dilations[0]);
  shape.pad_left = static_cast<int>(pads[0]);
  shape.pad_right = static_cast<int>(pads[1]);
  return shape;
}

struct WinogradConv1dKernel {
  WinogradConv1dKernel(const OrtApi &ort_api, const OrtKernelInfo *raw_info) : api(ort_api) {
    Ort::ConstKernelInfo info(raw_info);
    Ort::ConstValue w = ConstantInput(info, 1, kOpName, "W", 3);
    const std::vector<int64_t> w_shape = w.GetTensorTypeAndShapeInfo().GetShape();
    const float *bias = nullptr;
    if (info.GetInputCount() > 2) {
      Ort::ConstValue b = ConstantInput(info, 2, kOpName, "B", 1);
      if (b.GetTensorTypeAndShapeInfo().GetShape()[0] != w_shape[0])
        throw std::invalid_argument(std::string(kOpName) + ": B must have C_out elements");
      bias = b.GetTensorData<float>();
    }
    conv = std::make_unique<WinogradConv1d>(ShapeFrom(info, w_shape), w.GetTensorData<float>(), bias);
  }

  struct Job {
    const WinogradConv1d *conv;
    const float *x;
    float *y;
    int64_t length, x_stride, y_stride;
    size_t units;
    std::atomic<bool> failed{false};
  };

  static void RunOne(void *data, size_t index) {
    Job &job = *static_cast<Job *>(data);
    const size_t item = index / job.units, unit = index % job.units;
    try {
      job.conv->RunUnits(job.x + item * job.x_stride, job.length, job.y + item * job.y_stride, unit,
                         unit + 1);
    } catch (...) {  // scratch allocation; nothing may escape into ONNX Runtime's thread pool
      job.failed = true;
    }
  }

  OrtStatusPtr ComputeV2(OrtKernelContext *raw_context) {
    try {
      Ort::KernelContext context(raw_context);
      Ort::ConstValue x = context.GetInput(0);
      const std::vector<int64_t> shape = x.GetTensorTypeAndShapeInfo().GetShape();
      const Conv1dShape &s = conv->shape();
      if (shape.size() != 3 || shape[1] != s.in_channels)
        return api.CreateStatus(
            ORT_INVALID_ARGUMENT,
            ("WinogradConv1d: X must be [N, " + std::to_string(s.in_channels) + ", L]").c_str());
      const int64_t out_length = std::max<int64_t>(0, s.OutputLength(shape[2]));
      Ort::UnownedValue y = context.GetOutput(0, {shape[0], s.out_channels, out_length});
      if (shape[0] == 0 || out_length == 0) return nullptr;
      Job job;
      job.conv = conv.get();
      job.x = x.GetTensorData<float>();
      job.y = y.GetTensorMutableData<float>();
      job.length = shape[2];
      job.x_stride = shape[1] * shape[2];
      job.y_stride = s.out_channels * out_length;
      job.units = conv->WorkUnits(shape[2]);
      context.ParallelFor(&RunOne, job.units * static_cast<size_t>(shape[0]), 0, &job);
      if (job.failed)
        return api.CreateStatus(ORT_FAIL, "WinogradConv1d: out of memory for its scratch buffers");
      return nullptr;
    } catch (const std::exception &e) {
      return api.CreateStatus(ORT_FAIL, e.what());
    }
  }

  const OrtApi &api;
  std::unique_ptr<WinogradConv1d> conv;
};

struct WinogradConv1dOp : FloatCpuOp<WinogradConv1dOp, WinogradConv1dKernel> {
  const char *GetName() const { return kOpName; }
  OrtCustomOpInputOutputCharacteristic GetInputCharacteristic(size_t index) const {
    return index == 2 ? OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_OPTIONAL
                      : OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_REQUIRED;
  }
};

// ---- Snake ----------------------------------------------------------------------------------------

constexpr const char *kSnakeName = "Snake";
constexpr int64_t kSnakeUnitSamples = 1 << 15;  // per ParallelFor item: 128 KiB in, 128 KiB out

std::vector<float> ChannelConstant(const Ort::ConstKernelInfo &info, size_t index, const char *what) {
  const Ort::ConstValue value = ConstantInput(info, index, kSnakeName, what);
  const float *data = value.GetTensorData<float>();
  return std::vector<float>(data, data + value.GetTensorTypeAndShapeInfo().GetElementCount());
}

struct SnakeKernel {
  SnakeKernel(const OrtApi &ort_api, const OrtKernelInfo *raw_info) : api(ort_api) {
    Ort::ConstKernelInfo info(raw_info);
    alpha = ChannelConstant(info, 1, "A");
    inv_alpha = ChannelConstant(info, 2, "INV");
    if (alpha.empty() || alpha.size() != inv_alpha.size())
      throw std::invalid_argument("Snake: A and INV must have the same number (C > 0) of elements");
    isa = BestKernelIsa();  // once per session, not per call
  }

  struct Job {
    const SnakeKernel *kernel;
    const float *x;
    float *y;
    int64_t rows, length, rows_per_unit;
  };

  static void RunOne(void *data, size_t index) {
    const Job &job = *static_cast<const Job *>(data);
    const int64_t first = static_cast<int64_t>(index) * job.rows_per_unit;
    const int64_t last = std::min(job.rows, first + job.rows_per_unit);
    const SnakeKernel &k = *job.kernel;
    SnakeRows(job.x, job.y, first, last, job.length, static_cast<int>(k.alpha.size()), k.alpha.data(),
              k.inv_alpha.data(), k.isa);
  }

  OrtStatusPtr ComputeV2(OrtKernelContext *raw_context) {
    try {
      Ort::KernelContext context(raw_context);
      Ort::ConstValue x = context.GetInput(0);
      const std::vector<int64_t> shape = x.GetTensorTypeAndShapeInfo().GetShape();
      if (shape.size() != 3 || shape[1] != static_cast<int64_t>(alpha.size()))
        return api.CreateStatus(ORT_INVALID_ARGUMENT,
                                ("Snake: X must be [N, " + std::to_string(alpha.size()) + ", L]").c_str());
      Ort::UnownedValue y = context.GetOutput(0, shape);
      Job job{this, x.GetTensorData<float>(), y.GetTensorMutableData<float>(), shape[0] * shape[1], shape[2],
              1};
      if (job.rows == 0 || job.length == 0) return nullptr;
      job.rows_per_unit = std::max<int64_t>(1, kSnakeUnitSamples / job.length);
      const size_t units = static_cast<size_t>((job.rows + job.rows_per_unit - 1) / job.rows_per_unit);
      context.ParallelFor(&RunOne, units, 0, &job);
      return nullptr;
    } catch (const std::exception &e) {
      return api.CreateStatus(ORT_FAIL, e.what());
    }
  }

  const OrtApi &api;
  std::vector<float> alpha, inv_alpha;
  KernelIsa isa = KernelIsa::kGeneric;
};

struct SnakeOp : FloatCpuOp<SnakeOp, SnakeKernel> {
  const char *GetName() const { return kSnakeName; }
};

// ---- PanelMatMul ----------------------------------------------------------------------------------

constexpr const char *kPanelName = "PanelMatMul";

struct PanelMatMulKernel {
  PanelMatMulKernel(const OrtApi &ort_api, const OrtKernelInfo *raw_info) : api(ort_api) {
    Ort::ConstKernelInfo info(raw_info);
    // Checked here, read at each call: ONNX Runtime hands the kernel the initializer as its input
    // then, memory-mapped from the graph's data file where it was saved so.
    const Ort::ConstValue p = ConstantInput(info, 1, kPanelName, "P", 3);
    const std::vector<int64_t> dims = p.GetTensorTypeAndShapeInfo().GetShape();
    int64_t n = 0;
    try {
      n = info.GetAttribute<int64_t>("n");
    } catch (const Ort::Exception &) {
      throw std::invalid_argument("PanelMatMul: attribute n (the weight's columns) is required");
    }
    if (dims[2] != kPanelWidth || n <= 0 || PanelCount(n) != dims[0])
      throw std::invalid_argument(
          "PanelMatMul: P must be [ceil(n / 16), K, 16] for n = " + std::to_string(n) + ", got [" +
          std::to_string(dims[0]) + ", " + std::to_string(dims[1]) + ", " + std::to_string(dims[2]) + "]");
    product = std::make_unique<PanelMatMul>(dims[1], n);
    if (info.GetInputCount() > 2) {
      const Ort::ConstValue b = ConstantInput(info, 2, kPanelName, "B");
      if (b.GetTensorTypeAndShapeInfo().GetElementCount() != static_cast<size_t>(n))
        throw std::invalid_argument("PanelMatMul: B must have n = " + std::to_string(n) + " elements");
      has_bias = true;
    }
  }

  struct Job {
    const PanelMatMul *product;
    const float *x, *panels, *bias;
    float *y;
    int64_t rows;
  };

  static void RunOne(void *data, size_t index) {
    const Job &job = *static_cast<const Job *>(data);
    job.product->RunUnits(job.x, job.rows, job.panels, job.bias, job.y, index, index + 1);
  }

  OrtStatusPtr ComputeV2(OrtKernelContext *raw_context) {
    try {
      Ort::KernelContext context(raw_context);
      const Ort::ConstValue x = context.GetInput(0);
      std::vector<int64_t> shape = x.GetTensorTypeAndShapeInfo().GetShape();
      if (shape.size() < 2 || shape.back() != product->k())
        return api.CreateStatus(
            ORT_INVALID_ARGUMENT,
            ("PanelMatMul: X must be [..., " + std::to_string(product->k()) + "] of rank >= 2").c_str());
      int64_t rows = 1;
      for (size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
      shape.back() = product->n();
      Ort::UnownedValue y = context.GetOutput(0, shape);
      if (rows == 0) return nullptr;
      Job job{product.get(),
              x.GetTensorData<float>(),
              context.GetInput(1).GetTensorData<float>(),
              has_bias ? context.GetInput(2).GetTensorData<float>() : nullptr,
              y.GetTensorMutableData<float>(),
              rows};
      context.ParallelFor(&RunOne, product->WorkUnits(rows), 0, &job);
      return nullptr;
    } catch (const std::exception &e) {
      return api.CreateStatus(ORT_FAIL, e.what());
    }
  }

  const OrtApi &api;
  std::unique_ptr<PanelMatMul> product;
  bool has_bias = false;
};

struct PanelMatMulOp : FloatCpuOp<PanelMatMulOp, PanelMatMulKernel> {
  const char *GetName() const { return kPanelName; }
  OrtCustomOpInputOutputCharacteristic GetInputCharacteristic(size_t index) const {
    return index == 2 ? OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_OPTIONAL
                      : OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_REQUIRED;
  }
};

}  // namespace

void AddCustomOps(OrtSessionOptions *options) {
  // Never destroyed: sessions of any thread may hold them until the process ends.
  static WinogradConv1dOp *const winograd = new WinogradConv1dOp();
  static SnakeOp *const snake = new SnakeOp();
  static PanelMatMulOp *const panel = new PanelMatMulOp();
  static Ort::CustomOpDomain *const domain = [] {
    auto *d = new Ort::CustomOpDomain(kCustomOpDomain);
    d->Add(winograd);
    d->Add(snake);
    d->Add(panel);
    return d;
  }();
  Ort::ThrowOnError(Ort::GetApi().AddCustomOpDomain(options, *domain));
}

}  // namespace cosyvoice::kernels
