// tests/unit/test_bundle_config.cc - strict reading of config.json (docs/bundle.md §2, §4).
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "common/crc32c.h"
#include "common/file_chunks.h"
#include "common/sha256.h"
#include "engine/bundle_config.h"
#include "engine/bundle_verifier.h"
#include "engine/finite_check.h"
#include "test_util.h"

namespace cosyvoice {
namespace {

using nlohmann::json;
using testing::TempDir;

// A complete, valid config with release-like values; the listed files are created with the sizes
// recorded, so Load() passes before a test breaks one thing.
json ValidConfig() {
  return json::parse(R"({
    "format": "cosyvoice-ort-bundle", "format_version": "1.0",
    "model": {"name": "unit-test", "source_files": {"llm.pt": {"bytes": 1, "sha256": "x"}}},
    "exporter": {"version": "0.1.0", "torch": "1.13", "onnx": "1.12", "opset": 17, "created": "now"},
    "sample_rate": 24000,
    "files": {},
    "tokenizer": {"vocab": "tokenizer/vocab.json", "merges": "tokenizer/merges.txt",
                  "added_tokens": "tokenizer/added_tokens.json", "endofprompt_id": 151646,
                  "system_prompt": "You are a helpful assistant."},
    "frontend": {
      "speech_tokenizer": {"file": "frontend/speech_tokenizer_v3.onnx", "sample_rate": 16000, "n_mels": 128,
                           "n_fft": 400, "hop_length": 160, "max_seconds": 30.0, "token_rate": 25},
      "campplus": {"file": "frontend/campplus.onnx", "sample_rate": 16000, "num_mel_bins": 80, "embedding_dim": 192},
      "prompt_mel": {"sample_rate": 24000, "n_fft": 1920, "hop_length": 480, "win_length": 1920, "n_mels": 80,
                     "fmin": 0.0, "fmax": 12000.0, "center": false}},
    "llm": {"file": "llm/llm.onnx", "text_embedding": "llm/text_embedding.npy",
            "speech_embedding": "llm/speech_embedding.npy",
            "hidden_size": 896, "num_layers": 24, "num_attention_heads": 14, "num_kv_heads": 2, "head_dim": 64,
            "max_positions": 32768, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6,
            "text_vocab_size": 151936, "speech_token_size": 6561, "speech_vocab_size": 6761,
            "sos": 6561, "eos": 6562, "task_id": 6563, "fill": 6564, "stop_tokens": [6561, 6761],
            "sampling": {"top_p": 0.8, "top_k": 25, "win_size": 10, "tau_r": 0.1},
            "min_token_text_ratio": 2.0, "max_token_text_ratio": 20.0,
            "silent_tokens": [1, 2, 28, 29, 55, 248, 494, 2241, 2242, 2322, 2323], "max_silent_run": 5},
    "flow": {"encoder": "flow/flow_encoder.onnx", "estimator": "flow/flow_estimator.onnx",
             "noise": "flow/flow_noise.npy", "mel_bins": 80, "token_mel_ratio": 2, "pre_lookahead": 3,
             "spk_embed_dim": 192, "vocab_size": 6561, "n_timesteps": 10, "cfg_rate": 0.7,
             "t_scheduler": "cosine", "static_chunk_size": 50, "max_frames": 15000},
    "hift": {"f0": "hift/hift_f0.onnx", "generator": "hift/hift_generator.onnx", "sample_rate": 24000,
             "hop_length": 480, "istft_n_fft": 16, "istft_hop": 4, "nb_harmonics": 8, "sine_amp": 0.1,
             "noise_std": 0.003, "voiced_threshold": 10.0, "audio_limit": 0.99, "lookahead_frames": 8,
             "source_noise": {"generator": "mt19937", "seed": 0, "skip": 5052970}},
    "streaming": {"token_hop_len": 25, "token_max_hop_len": 100, "stream_scale_factor": 2},
    "checks": {}
  })");
}

class BundleConfigTest : public ::testing::Test {
 protected:
  // Writes `config` (after creating every file it names) into the temp bundle.
  void Write(json config) {
    const char *files[] = {"tokenizer/vocab.json",        "tokenizer/merges.txt",
                           "tokenizer/added_tokens.json", "frontend/speech_tokenizer_v3.onnx",
                           "frontend/campplus.onnx",      "llm/llm.onnx",
                           "llm/text_embedding.npy",      "llm/speech_embedding.npy",
                           "flow/flow_encoder.onnx",      "flow/flow_estimator.onnx",
                           "flow/flow_noise.npy",         "hift/hift_f0.onnx",
                           "hift/hift_generator.onnx"};
    if (config["files"].empty()) {
      for (const char *f : files) {
        const auto path = dir_ / f;
        std::filesystem::create_directories(path.parent_path());
        std::ofstream(path) << "content of " << f;
        config["files"][f] = {{"bytes", std::filesystem::file_size(path)}, {"sha256", Sha256File(path)}};
      }
    }
    std::ofstream(dir_ / "config.json") << config.dump(2);
  }
  TempDir dir_;
};

TEST_F(BundleConfigTest, LoadsAValidConfig) {
  Write(ValidConfig());
  const BundleConfig c = BundleConfig::Load(dir_.path());
  EXPECT_EQ(c.format_major, 1);
  EXPECT_EQ(c.llm.num_layers, 24);
  EXPECT_EQ(c.llm.stop_begin, 6561);
  EXPECT_EQ(c.llm.stop_end, 6761);
  EXPECT_TRUE(c.llm.IsStop(6562));
  EXPECT_FALSE(c.llm.IsStop(6560));
  EXPECT_EQ(c.flow.max_frames, 15000);
  EXPECT_EQ(c.hift.source_noise.skip, 5052970u);
  EXPECT_EQ(c.files.size(), 13u);
  EXPECT_EQ(c.Path("llm/llm.onnx"), dir_.path() / "llm/llm.onnx");
  EXPECT_NO_THROW(c.VerifyChecksums());
}

TEST_F(BundleConfigTest, MissingDirectoryOrConfig) {
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_ / "nope"), ErrorCode::kBundle, "not a directory");
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle, "config.json: missing");
}

TEST_F(BundleConfigTest, MalformedJsonNamesTheFile) {
  std::ofstream(dir_ / "config.json") << "{\"format\": ";
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle, "config.json: invalid JSON");
}

TEST_F(BundleConfigTest, ForeignFormatAndUnsupportedVersions) {
  json c = ValidConfig();
  c["format"] = "something-else";
  Write(c);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle,
                    "field format: expected \"cosyvoice-ort-bundle\"");
  c = ValidConfig();
  c["format_version"] = "2.0";
  Write(c);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle,
                    "bundle format 2.0 is not supported");
  c["format_version"] = "1.9";
  Write(c);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle, "re-export");
  c["format_version"] = "one";
  Write(c);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle, "expected \"MAJOR.MINOR\"");
}

TEST_F(BundleConfigTest, VariantsNeedFormat11AndListedFiles) {
  json c = ValidConfig();
  Write(c);  // creates the files and lists them
  c = json::parse(std::ifstream(dir_ / "config.json"));
  c["variants"] = {{"llm",
                    {{{"name", "int4"},
                      {"precision", "int4"},
                      {"providers", {"cpu"}},
                      {"files", {{"file", "llm/llm.onnx"}}},
                      {"gate", {{"status", "untested"}}}}}}};
  Write(c);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle,
                    "field variants: needs format_version 1.1 or later");
  c["format_version"] = "1.1";
  Write(c);
  const BundleConfig loaded = BundleConfig::Load(dir_.path());
  ASSERT_EQ(loaded.variants.at("llm").size(), 1u);
  EXPECT_EQ(loaded.variants.at("llm")[0].files.at("file"), "llm/llm.onnx");
  c["variants"]["llm"][0]["files"]["file"] = "llm/llm_fused_int4.onnx";
  Write(c);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle, "is not listed in files");
}

TEST_F(BundleConfigTest, UnknownKeysAreErrorsAtEveryLevel) {
  json c = ValidConfig();
  c["llm"]["num_layer"] = 3;  // typo
  Write(c);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle, "unknown field llm.num_layer");
  c = ValidConfig();
  c["extra"] = true;
  Write(c);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle, "unknown field extra");
}

TEST_F(BundleConfigTest, MissingAndMistypedFieldsNameTheField) {
  json c = ValidConfig();
  c["flow"].erase("cfg_rate");
  Write(c);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle, "field flow.cfg_rate: missing");
  c = ValidConfig();
  c["llm"]["num_layers"] = 0;
  Write(c);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle,
                    "field llm.num_layers: expected an integer in [1, 256], got 0");
  c = ValidConfig();
  c["llm"]["sampling"]["top_k"] = "25";
  Write(c);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle,
                    "llm.sampling.top_k: expected an integer");
}

TEST_F(BundleConfigTest, CrossFieldFactsAreChecked) {
  json c = ValidConfig();
  c["llm"]["num_kv_heads"] = 3;
  Write(c);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle, "num_kv_heads: must divide");
  c = ValidConfig();
  c["llm"]["eos"] = 12;
  Write(c);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle, "llm.eos: must be a special id");
  c = ValidConfig();
  c["hift"]["hop_length"] = 512;
  Write(c);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle,
                    "prompt_mel.hop_length: must equal hift.hop_length");
  c = ValidConfig();
  c["flow"]["t_scheduler"] = "linear";
  Write(c);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle, "only \"cosine\"");
}

// Every numeric field has a documented range (docs/bundle.md §2.1), so that no value can make
// loading or synthesis loop for hours or divide by zero.
TEST_F(BundleConfigTest, ValuesThatWouldHangOrBreakSynthesisAreRefused) {
  struct Case {
    const char *section, *sub, *key;
    json value;
    const char *message;
  };
  const Case cases[] = {
      // 1e15 MT19937 draws at load took hours (issue 14); the bound is 2^27.
      {"hift", "source_noise", "skip", 1000000000000000LL,
       "hift.source_noise.skip: expected an integer in [0, 134217728]"},
      {"hift", nullptr, "istft_hop", 16, "istft_hop: must be at most istft_n_fft / 2"},
      {"hift", nullptr, "istft_n_fft", 15, "istft_n_fft: must be even"},
      {"hift", nullptr, "audio_limit", 0.0, "audio_limit: must be in (0, 1]"},
      {"flow", nullptr, "static_chunk_size", 51, "static_chunk_size: must be a multiple of token_mel_ratio"},
      {"flow", nullptr, "static_chunk_size", 1, "static_chunk_size: must be a multiple of token_mel_ratio"},
      {"flow", nullptr, "n_timesteps", 1000, "flow.n_timesteps: expected an integer in [1, 100]"},
      {"flow", nullptr, "max_frames", 16777216, "flow.max_frames: expected an integer in [1, 1000000]"},
      {"llm", nullptr, "max_positions", 16777216, "llm.max_positions: expected an integer in [16, 131072]"},
      {"llm", nullptr, "max_token_text_ratio", 10000.0,
       "llm.max_token_text_ratio: expected a number in [0, 100]"},
      {"llm", "sampling", "top_p", 0.0, "llm.sampling.top_p: must be in (0, 1]"},
      {"llm", "sampling", "win_size", 1048576, "llm.sampling.win_size: expected an integer in [0, 1000]"},
      {"streaming", nullptr, "token_hop_len", 1,
       "streaming.token_hop_len: expected an integer in [10, 1000]"},
      {"frontend", "speech_tokenizer", "hop_length", 1,
       "speech_tokenizer.hop_length: expected an integer in [16, 8192]"},
      {"frontend", "speech_tokenizer", "max_seconds", 3600.0,
       "speech_tokenizer.max_seconds: expected a number in [1, 300]"},
      {"frontend", "prompt_mel", "n_fft", 65536, "prompt_mel.n_fft: expected an integer in [16, 8192]"},
  };
  for (const Case &k : cases) {
    json c = ValidConfig();
    json &section = k.sub ? c[k.section][k.sub] : c[k.section];
    section[k.key] = k.value;
    Write(c);
    EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle, k.message);
  }
  json c = ValidConfig();
  c["llm"]["silent_tokens"] = json::array();
  for (int i = 0; i < 1025; ++i) c["llm"]["silent_tokens"].push_back(1);
  Write(c);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle, "silent_tokens: at most 1024 ids");
}

TEST_F(BundleConfigTest, TheReleaseValuesSitInsideTheRanges) {
  json c = ValidConfig();
  c["hift"]["source_noise"]["skip"] = 134217728;  // the bound itself is accepted
  Write(c);
  EXPECT_EQ(BundleConfig::Load(dir_.path()).hift.source_noise.skip, 134217728u);
}

TEST_F(BundleConfigTest, FileNamesMustStayInsideTheBundle) {
  for (const char *name : {"../outside.onnx", "/etc/passwd", "llm/../../x", "a//b", "./llm.onnx", ""}) {
    json c = ValidConfig();
    Write(c);
    json written = json::parse(std::ifstream(dir_ / "config.json"));
    written["files"][name] = {{"bytes", 1}, {"sha256", "x"}};
    std::ofstream(dir_ / "config.json") << written.dump();
    SCOPED_TRACE(name);
    EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle, "is not a plain relative path");
  }
}

TEST_F(BundleConfigTest, AHugeConfigIsRefusedBeforeParsing) {
  {
    std::ofstream out(dir_ / "config.json");
    out << "{\"format\": \"";
    out << std::string(17u << 20, 'x');
    out << "\"}";
  }
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle, "a bundle config is a few kB");
}

TEST(BundleConfigParse, NamesTheConfigOfTheGivenDirectoryAndTouchesNoFile) {
  json c = ValidConfig();
  c["files"]["llm/llm.onnx"] = {{"bytes", 123}, {"sha256", "x"}};
  EXPECT_COSY_ERROR(BundleConfig::Parse(c.dump(), "/no/such/bundle"), ErrorCode::kBundle,
                    "/no/such/bundle/config.json: field files: does not list");
  EXPECT_COSY_ERROR(BundleConfig::Parse("[1, 2", "/b"), ErrorCode::kBundle, "/b/config.json: invalid JSON");
  EXPECT_COSY_ERROR(BundleConfig::Parse("[1, 2]", "/b"), ErrorCode::kBundle, "expected a JSON object");
  // found by fuzzing: a number too large for a double is nlohmann's out_of_range, not a parse_error,
  // and escaped as an uncaught exception
  EXPECT_COSY_ERROR(BundleConfig::Parse("{\"format\": 1e884}", "/b"), ErrorCode::kBundle,
                    "/b/config.json: invalid JSON");
}

TEST_F(BundleConfigTest, TruncatedMissingAndUnlistedFiles) {
  Write(ValidConfig());
  std::filesystem::resize_file(dir_ / "flow/flow_noise.npy", 3);
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle, "flow_noise.npy: size 3 bytes");

  std::filesystem::remove(dir_ / "flow/flow_noise.npy");
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle,
                    "flow_noise.npy: missing from the bundle");

  json c = ValidConfig();
  Write(c);  // recreate all files
  json written = json::parse(std::ifstream(dir_ / "config.json"));
  written["files"].erase("hift/hift_f0.onnx");
  std::ofstream(dir_ / "config.json") << written.dump();
  EXPECT_COSY_ERROR(BundleConfig::Load(dir_.path()), ErrorCode::kBundle,
                    "does not list \"hift/hift_f0.onnx\"");
}

TEST_F(BundleConfigTest, ChecksumMismatchIsReported) {
  Write(ValidConfig());
  { std::ofstream(dir_ / "llm/llm.onnx") << "content of llm/llm.onnY"; }  // same size, other bytes
  const BundleConfig c = BundleConfig::Load(dir_.path());
  EXPECT_COSY_ERROR(c.VerifyChecksums(), ErrorCode::kBundle, "llm.onnx: sha256");
}

// Model::Load's checksums (docs/bundle.md §4.1): a damaged file is named; files verified earlier in
// this process and unchanged (device, inode, size, mtime) are not hashed again; a changed one is.
TEST_F(BundleConfigTest, VerifierNamesADamagedFileAndRemembersVerifiedOnes) {
  Write(ValidConfig());
  const BundleConfig c = BundleConfig::Load(dir_.path());
  {
    BundleVerifier first(c);
    first.Wait();
    EXPECT_GT(first.bytes_hashed(), 0u);
  }
  {
    BundleVerifier again(c);
    again.Wait();
    EXPECT_EQ(again.bytes_hashed(), 0u);  // every file remembered
  }
  const auto llm = dir_ / "llm/llm.onnx";
  const auto mtime = std::filesystem::last_write_time(llm);
  { std::ofstream(llm) << "content of llm/llm.onnY"; }  // same size, other bytes
  // a later mtime, as any rewrite gets (set explicitly: the clock may not tick between two writes)
  std::filesystem::last_write_time(llm, mtime + std::chrono::seconds(1));
  BundleVerifier damaged(c);
  EXPECT_COSY_ERROR(damaged.Wait(), ErrorCode::kBundle, "llm.onnx: sha256 ");
  EXPECT_COSY_ERROR(damaged.Wait(), ErrorCode::kBundle, "does not match config.json");  // Wait() repeats it
}

TEST_F(BundleConfigTest, VerifierNamesAMissingFile) {
  Write(ValidConfig());
  const BundleConfig c = BundleConfig::Load(dir_.path());
  std::filesystem::remove(dir_ / "hift/hift_f0.onnx");
  BundleVerifier v(c);
  EXPECT_COSY_ERROR(v.Wait(), ErrorCode::kBundle, "hift_f0.onnx: missing from the bundle");
}

// Only what a load reads is hashed (docs/bundle.md §4.1): not the files of variants not chosen, not a
// base file a chosen variant replaces, and an optimized graph's files instead of the bundle graph.
TEST_F(BundleConfigTest, FilesInUseAreThoseTheLoadReads) {
  Write(ValidConfig());
  BundleConfig exported = BundleConfig::Load(dir_.path());
  exported.files["llm/llm_int4.onnx"] = {1, "a"};
  exported.files["flow/flow_estimator.int8.onnx"] = {1, "b"};
  VariantConfig int4{"llm", "int4", "int4", {"cpu"}, {{"file", "llm/llm_int4.onnx"}}, {}, "untested", ""};
  VariantConfig int8{"flow", "int8",     "int8", {"cpu"}, {{"estimator", "flow/flow_estimator.int8.onnx"}},
                     {},     "untested", ""};
  exported.variants["llm"] = {int4};
  exported.variants["flow"] = {int8};
  BundleConfig in_use = exported;
  ApplyVariant(in_use, int4);  // the LLM variant chosen, the flow's not
  const FileToVerify optimized{"/opt/flow/flow_encoder.onnx", std::string(64, 'c'), "/opt/manifest.json", ""};
  const std::vector<FileToVerify> files =
      FilesInUse(exported, in_use, {{"flow/flow_encoder.onnx", {optimized}}});
  std::map<std::string, std::string> listed;  // path -> listed_in
  for (const FileToVerify &f : files) listed[f.path.string()] = f.listed_in;
  EXPECT_EQ(listed.count(in_use.Path("llm/llm_int4.onnx").string()), 1u);              // chosen variant
  EXPECT_EQ(listed.count(in_use.Path("llm/llm.onnx").string()), 0u);                   // replaced by it
  EXPECT_EQ(listed.count(in_use.Path("flow/flow_estimator.int8.onnx").string()), 0u);  // not chosen
  EXPECT_EQ(listed.count(in_use.Path("flow/flow_estimator.onnx").string()), 1u);
  EXPECT_EQ(listed.count(in_use.Path("flow/flow_encoder.onnx").string()), 0u);  // the optimized one instead
  EXPECT_EQ(listed["/opt/flow/flow_encoder.onnx"], "/opt/manifest.json");
  EXPECT_EQ(listed[in_use.Path("tokenizer/vocab.json").string()], "config.json");
  EXPECT_EQ(files.size(), 13u);  // 15 listed - 2 not read - 1 replaced + 1 optimized
}

// A chosen flow variant replaces the streaming chunk graph too ("estimator_chunk.file"): the load
// reads (and verifies) the variant's chunk graph, not the float32 one (which it used to hash instead).
TEST_F(BundleConfigTest, FilesInUseFollowAFlowVariantsChunkGraph) {
  Write(ValidConfig());
  BundleConfig exported = BundleConfig::Load(dir_.path());
  exported.flow.estimator_chunk.file = "flow/flow_estimator_chunk.onnx";
  exported.files["flow/flow_estimator_chunk.onnx"] = {1, "c"};
  exported.files["flow/flow_estimator.int8.onnx"] = {1, "d"};
  exported.files["flow/flow_estimator_chunk.int8.onnx"] = {1, "e"};
  VariantConfig int8{"flow",
                     "int8",
                     "int8",
                     {"cpu"},
                     {{"estimator", "flow/flow_estimator.int8.onnx"},
                      {"estimator_chunk.file", "flow/flow_estimator_chunk.int8.onnx"}},
                     {},
                     "untested",
                     ""};
  exported.variants["flow"] = {int8};
  std::set<std::string> listed;
  for (const FileToVerify &f : FilesInUse(exported, exported)) listed.insert(f.path.string());
  EXPECT_EQ(listed.count(exported.Path("flow/flow_estimator_chunk.onnx").string()), 1u);       // fp32 load
  EXPECT_EQ(listed.count(exported.Path("flow/flow_estimator_chunk.int8.onnx").string()), 0u);  // not chosen
  BundleConfig in_use = exported;
  ApplyVariant(in_use, int8);
  listed.clear();
  for (const FileToVerify &f : FilesInUse(exported, in_use)) listed.insert(f.path.string());
  EXPECT_EQ(listed.count(in_use.Path("flow/flow_estimator_chunk.int8.onnx").string()), 1u);
  EXPECT_EQ(listed.count(in_use.Path("flow/flow_estimator.int8.onnx").string()), 1u);
  EXPECT_EQ(listed.count(in_use.Path("flow/flow_estimator_chunk.onnx").string()), 0u);  // replaced
  EXPECT_EQ(listed.count(in_use.Path("flow/flow_estimator.onnx").string()), 0u);        // replaced
}

// The graphs loaded on first use (voice preparation, streaming) are verified then, with their external
// data and optimized replacements; everything else at load. External data of a variant not chosen is
// not read at all (it was hashed: 267 MB for the full-size int4 LLM).
TEST_F(BundleConfigTest, DeferredGraphsAreVerifiedOnFirstUse) {
  Write(ValidConfig());
  BundleConfig b = BundleConfig::Load(dir_.path());
  b.flow.estimator_chunk.file = "flow/flow_estimator_chunk.onnx";
  b.files["flow/flow_estimator_chunk.onnx"] = {1, "c"};
  b.files["flow/flow_estimator_chunk.onnx.data"] = {1, "d"};
  b.files["llm/llm_int4.onnx"] = {1, "e"};
  b.files["llm/llm_int4.onnx.data"] = {1, "f"};
  b.variants["llm"] = {{"llm", "int4", "int4", {"cpu"}, {{"file", "llm/llm_int4.onnx"}}, {}, "untested", ""}};
  const std::set<std::string> deferred = DeferredGraphs(b);
  EXPECT_EQ(deferred, (std::set<std::string>{b.speech_tokenizer.file, b.campplus.file,
                                             "flow/flow_estimator_chunk.onnx"}));
  const FileToVerify optimized{"/opt/frontend/campplus.onnx", std::string(64, 'c'), "/opt/manifest.json", ""};
  const FilesByPart parts = FilesInUseByPart(b, b, {{b.campplus.file, {optimized}}}, deferred);
  auto paths = [](const std::vector<FileToVerify> &files) {
    std::set<std::string> out;
    for (const FileToVerify &f : files) out.insert(f.path.string());
    return out;
  };
  EXPECT_EQ(paths(parts.deferred.at("flow/flow_estimator_chunk.onnx")),
            (std::set<std::string>{b.Path("flow/flow_estimator_chunk.onnx").string(),
                                   b.Path("flow/flow_estimator_chunk.onnx.data").string()}));
  EXPECT_EQ(paths(parts.deferred.at(b.campplus.file)), std::set<std::string>{"/opt/frontend/campplus.onnx"});
  EXPECT_EQ(paths(parts.deferred.at(b.speech_tokenizer.file)),
            std::set<std::string>{b.Path(b.speech_tokenizer.file).string()});
  const std::set<std::string> at_load = paths(parts.at_load);
  EXPECT_EQ(at_load.count(b.Path(b.llm.file).string()), 1u);
  EXPECT_EQ(at_load.count(b.Path("llm/llm_int4.onnx.data").string()), 0u);  // variant not chosen
  EXPECT_EQ(at_load.count(b.Path(b.speech_tokenizer.file).string()), 0u);
  EXPECT_EQ(parts.at_load.size() + 4, FilesInUse(b, b, {{b.campplus.file, {optimized}}}).size());
}

// Hashed on several threads, the error reported is the first damaged file in list order (the same on
// every run), naming the file that lists the expected digest.
TEST_F(BundleConfigTest, ParallelVerifierReportsTheFirstDamagedFileInListOrder) {
  Write(ValidConfig());
  const BundleConfig c = BundleConfig::Load(dir_.path());
  std::vector<FileToVerify> files;
  for (const auto &[rel, entry] : c.files) files.push_back({c.Path(rel), entry.sha256, "config.json", ""});
  files[3].sha256 = std::string(64, '0');
  files[3].listed_in = "opt/manifest.json";
  files[9].sha256 = std::string(64, '0');
  for (int threads : {1, 2, 4}) {
    BundleVerifier v(files, threads);
    EXPECT_COSY_ERROR(v.Wait(), ErrorCode::kBundle,
                      files[3].path.string() + ": sha256 " + Sha256File(files[3].path) +
                          " does not match opt/manifest.json");
  }
  files.erase(files.begin() + 3);
  files.erase(files.begin() + 8);  // the former files[9]
  BundleVerifier ok(files, 2);
  EXPECT_NO_THROW(ok.Wait());
}

TEST(FiniteCheck, NamesTheStageAndTheIndex) {
  std::vector<float> v(10, 1.0f);
  EXPECT_NO_THROW(CheckFiniteOutput(v.data(), v.size(), "vocoder (waveform)"));
  v[7] = std::numeric_limits<float>::infinity();
  EXPECT_COSY_ERROR(CheckFiniteOutput(v.data(), v.size(), "vocoder (waveform)"), ErrorCode::kRuntime,
                    "vocoder (waveform): value 7 of 10 is not a finite number");
  v[7] = 0.0f;
  v[2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_COSY_ERROR(CheckFiniteOutput(v.data(), v.size(), "flow (mel)"), ErrorCode::kRuntime,
                    "flow (mel): value 2");
}

TEST(Sha256, HardwareAndPortableDigestsAgree) {
  if (!Sha256::HardwareAvailable()) GTEST_SKIP() << "this CPU has no SHA extensions";
  std::string data;
  uint32_t x = 12345;
  for (int i = 0; i < 100000; ++i) data.push_back(static_cast<char>((x = x * 1103515245u + 12345u) >> 24));
  for (size_t n : {size_t{0}, size_t{1}, size_t{55}, size_t{56}, size_t{64}, size_t{65}, size_t{127},
                   size_t{1000}, data.size()}) {
    Sha256 hw, sw(/*allow_hardware=*/false);
    // uneven pieces: buffered bytes, whole blocks from the caller and the tail all take part
    for (size_t at = 0, piece = 1; at < n; at += piece, piece = piece * 3 + 1) {
      hw.Update(data.data() + at, std::min(piece, n - at));
      sw.Update(data.data() + at, std::min(piece, n - at));
    }
    EXPECT_EQ(hw.HexDigest(), sw.HexDigest()) << n << " bytes";
  }
}

// RFC 3720 §B.4's CRC-32C examples (iSCSI), "123456789" (the usual check value), on both paths, and
// the two paths agreeing on uneven pieces at every alignment.
TEST(Crc32c, KnownAnswersAndBothPathsAgree) {
  for (bool hardware : {true, false}) {
    auto crc = [hardware](const std::string &s) {
      Crc32c c(hardware);
      c.Update(s.data(), s.size());
      return c.HexValue();
    };
    std::string up, down;
    for (int i = 0; i < 32; ++i) {
      up.push_back(static_cast<char>(i));
      down.push_back(static_cast<char>(31 - i));
    }
    EXPECT_EQ(crc(""), "00000000");
    EXPECT_EQ(crc("123456789"), "e3069283");
    EXPECT_EQ(crc(std::string(32, '\0')), "8a9136aa");
    EXPECT_EQ(crc(std::string(32, '\xff')), "62a8ab43");
    EXPECT_EQ(crc(up), "46dd794e");
    EXPECT_EQ(crc(down), "113fdb5c");
  }
  std::string data;
  uint32_t x = 777;
  for (int i = 0; i < 50000; ++i) data.push_back(static_cast<char>((x = x * 1103515245u + 12345u) >> 24));
  for (size_t offset : {size_t{0}, size_t{1}, size_t{3}, size_t{7}}) {
    Crc32c hw, sw(/*allow_hardware=*/false);
    for (size_t at = offset, piece = 1; at < data.size(); at += piece, piece = piece * 2 + 1) {
      hw.Update(data.data() + at, std::min(piece, data.size() - at));
      sw.Update(data.data() + at, std::min(piece, data.size() - at));
    }
    EXPECT_EQ(hw.value(), sw.value()) << "offset " << offset;
  }
}

// The one read loop under every file checksum: pieces in order, the whole file once, the stop flag
// honoured between pieces, a missing file named.
TEST(FileChunks, PiecesInOrderCoverTheFileAndStopIsHonoured) {
  TempDir dir;
  const std::filesystem::path path = dir.path() / "data.bin";
  std::string data;
  uint32_t x = 12345;
  for (int i = 0; i < (5 << 19) + 17; ++i)
    data.push_back(static_cast<char>((x = x * 1103515245u + 12345u) >> 24));
  std::ofstream(path, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
  std::string back;
  int pieces = 0;
  const uint64_t n = ReadFileInChunks(path, [&](const char *p, size_t size) {
    back.append(p, size);
    ++pieces;
  });
  EXPECT_EQ(n, data.size());
  EXPECT_EQ(back, data);
  EXPECT_EQ(pieces, 3);  // 2.5 MB in 1 MB pieces
  EXPECT_EQ(Crc32cFile(path), [&] {
    Crc32c c;
    c.Update(data.data(), data.size());
    return c.HexValue();
  }());
  std::atomic<bool> stop{false};
  pieces = 0;
  const uint64_t partial = ReadFileInChunks(
      path,
      [&](const char *, size_t) {
        ++pieces;
        stop = true;
      },
      &stop);
  EXPECT_EQ(pieces, 1);
  EXPECT_EQ(partial, uint64_t{1} << 20);
  EXPECT_COSY_ERROR(ReadFileInChunks(dir.path() / "none.bin", [](const char *, size_t) {}), ErrorCode::kIo,
                    "none.bin: cannot open");
}

// A file listed with a CRC-32C (optimized graphs, manifest version 3) is checked by it, not by sha256.
TEST_F(BundleConfigTest, VerifierChecksTheCrc32cWhenOneIsListed) {
  Write(ValidConfig());
  const BundleConfig c = BundleConfig::Load(dir_.path());
  const auto &[rel, entry] = *c.files.begin();
  FileToVerify f{c.Path(rel), std::string(64, '0'), "opt/manifest.json", Crc32cFile(c.Path(rel))};
  BundleVerifier ok({f}, 1);  // a wrong sha256 is not looked at
  EXPECT_NO_THROW(ok.Wait());
  f.path = c.Path(std::next(c.files.begin())->first);  // another file under the first one's CRC
  BundleVerifier damaged({f}, 1);
  EXPECT_COSY_ERROR(damaged.Wait(), ErrorCode::kBundle,
                    f.path.string() + ": crc32c " + Crc32cFile(f.path) + " does not match opt/manifest.json");
}

TEST(Sha256, KnownAnswers) {
  for (bool hardware : {true, false}) {
    auto hex = [hardware](const std::string &s) {
      Sha256 h(hardware);
      h.Update(s.data(), s.size());
      return h.HexDigest();
    };
    EXPECT_EQ(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(hex(std::string(1000000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  }
}

}  // namespace
}  // namespace cosyvoice
