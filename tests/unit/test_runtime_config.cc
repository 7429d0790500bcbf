// tests/unit/test_runtime_config.cc
#include "cosyvoice/runtime_config.h"
#include "models/session_factory.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

TEST(RuntimeConfig, DefaultsAreValid) {
  EXPECT_NO_THROW(RuntimeConfig{}.Validate());
}

TEST(RuntimeConfig, ValidateNamesTheField) {
  RuntimeConfig c;
  c.intra_op_threads = -2;
  EXPECT_COSY_ERROR(c.Validate(), ErrorCode::kInvalidArgument, "intra_op_threads");
  c = RuntimeConfig{};
  c.providers = {"cuda", "tpu"};
  EXPECT_COSY_ERROR(c.Validate(), ErrorCode::kInvalidArgument, "unknown provider 'tpu'");
  c = RuntimeConfig{};
  c.providers.clear();
  EXPECT_COSY_ERROR(c.Validate(), ErrorCode::kInvalidArgument, "providers");
  c = RuntimeConfig{};
  c.device_id = -1;
  EXPECT_COSY_ERROR(c.Validate(), ErrorCode::kInvalidArgument, "device_id");
}

TEST(RuntimeConfig, ThreadCountsAreCappedAtTheHardwareWithOneWarning) {
  const int cpus = HardwareThreadCount();
  ASSERT_GE(cpus, 1);
  EXPECT_EQ(CapThreadCount(0, "test_threads"), 0);  // ONNX Runtime's choice stays its choice
  EXPECT_EQ(CapThreadCount(1, "test_threads"), 1);
  EXPECT_EQ(CapThreadCount(cpus, "test_threads"), cpus);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(CapThreadCount(1000, "test_threads"), cpus);
  EXPECT_EQ(CapThreadCount(64 + cpus, "test_threads"), cpus);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("test_threads 1000 capped at " + std::to_string(cpus)), std::string::npos) << log;
  EXPECT_EQ(log.find("capped", log.find("capped") + 1), std::string::npos) << "warned twice: " << log;
}

TEST(RuntimeConfig, ParsesProviderLists) {
  EXPECT_EQ(ParseProviderList("cpu"), (std::vector<std::string>{"cpu"}));
  EXPECT_EQ(ParseProviderList(" CUDA , cpu "), (std::vector<std::string>{"cuda", "cpu"}));
  EXPECT_COSY_ERROR(ParseProviderList(" , "), ErrorCode::kInvalidArgument, "empty");
}

TEST(RuntimeConfig, KnowsEveryDocumentedProvider) {
  for (const char *name :
       {"cpu", "webgpu", "cuda", "tensorrt", "coreml", "directml", "nnapi", "xnnpack", "openvino"}) {
    RuntimeConfig c;
    c.providers = {name, "cpu"};
    EXPECT_NO_THROW(c.Validate()) << name;
  }
  RuntimeConfig c;
  c.providers = {"rocm"};
  EXPECT_COSY_ERROR(c.Validate(), ErrorCode::kInvalidArgument, "known: cpu, webgpu, cuda, tensorrt");
}

TEST(RuntimeConfig, ParsesProviderOptions) {
  RuntimeConfig c;
  AddProviderOption(c, "webgpu.preferredLayout=NHWC");
  AddProviderOption(c, "WebGPU.validationMode=disabled");
  AddProviderOption(c, "cuda.gpu_mem_limit=2147483648");
  EXPECT_EQ(c.provider_options["webgpu"]["preferredLayout"], "NHWC");
  EXPECT_EQ(c.provider_options["webgpu"]["validationMode"], "disabled");
  EXPECT_EQ(c.provider_options["cuda"]["gpu_mem_limit"], "2147483648");
  EXPECT_NO_THROW(c.Validate());
  for (const char *bad :
       {"webgpu", "webgpu.preferredLayout", "webgpu.=NHWC", ".a=b", "webgpu.preferredLayout="}) {
    RuntimeConfig d;
    EXPECT_COSY_ERROR(AddProviderOption(d, bad), ErrorCode::kInvalidArgument, "expected provider.key=value");
  }
}

TEST(RuntimeConfig, ValidatesProviderOptionsAgainstTheTable) {
  auto with = [](const std::string &text) {
    RuntimeConfig c;
    AddProviderOption(c, text);
    return c;
  };
  EXPECT_COSY_ERROR(with("webgpu.preferredLayout=NWHC").Validate(), ErrorCode::kInvalidArgument,
                    "webgpu.preferredLayout: expected one of NCHW, NHWC, got 'NWHC'");
  EXPECT_COSY_ERROR(with("webgpu.layout=NHWC").Validate(), ErrorCode::kInvalidArgument,
                    "webgpu.layout: unknown option (webgpu accepts: deviceId, preferredLayout");
  EXPECT_COSY_ERROR(with("cuda.device_id=-1").Validate(), ErrorCode::kInvalidArgument,
                    "cuda.device_id: expected a non-negative integer");
  EXPECT_COSY_ERROR(with("cuda.enable_cuda_graph=yes").Validate(), ErrorCode::kInvalidArgument,
                    "expected one of 0, 1");
  EXPECT_COSY_ERROR(with("cpu.arena=1").Validate(), ErrorCode::kInvalidArgument, "cpu accepts: none");
  EXPECT_COSY_ERROR(with("tpu.x=1").Validate(), ErrorCode::kInvalidArgument, "unknown provider 'tpu'");
  EXPECT_NO_THROW(with("openvino.device_type=AUTO:GPU,CPU").Validate());
  EXPECT_NO_THROW(with("coreml.MLComputeUnits=CPUAndNeuralEngine").Validate());
}

TEST(RuntimeConfig, ParsesOptimizationLevels) {
  EXPECT_EQ(ParseGraphOptimization("all"), GraphOptimization::kAll);
  EXPECT_EQ(ParseGraphOptimization("Basic"), GraphOptimization::kBasic);
  EXPECT_EQ(ParseGraphOptimization("disabled"), GraphOptimization::kDisabled);
  EXPECT_COSY_ERROR(ParseGraphOptimization("max"), ErrorCode::kInvalidArgument, "expected disabled, basic");
}

}  // namespace
}  // namespace cosyvoice
