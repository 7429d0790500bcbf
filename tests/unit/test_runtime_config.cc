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

TEST(RuntimeConfig, ParsesOptimizationLevels) {
  EXPECT_EQ(ParseGraphOptimization("all"), GraphOptimization::kAll);
  EXPECT_EQ(ParseGraphOptimization("Basic"), GraphOptimization::kBasic);
  EXPECT_EQ(ParseGraphOptimization("disabled"), GraphOptimization::kDisabled);
  EXPECT_COSY_ERROR(ParseGraphOptimization("max"), ErrorCode::kInvalidArgument, "expected disabled, basic");
}

}  // namespace
}  // namespace cosyvoice
