// src/engine/bundle_config.cc
#include "engine/bundle_config.h"

#include <fstream>
#include <limits>
#include <string_view>

#include "common/json_reader.h"
#include "common/sha256.h"
#include "cosyvoice/error.h"
#include "cosyvoice/version.h"

namespace cosyvoice {
namespace {

// Upper bounds shared by several fields (docs/bundle.md §2.1 gives every field's range).
constexpr int64_t kMaxFft = 8192;           // STFT sizes and hops (release: 1920 at most)
constexpr int64_t kMaxMels = 512;           // mel bands (release: 128 at most)
constexpr int64_t kMaxVocab = 1 << 22;      // token ids and vocabulary sizes (release: 151,936)
constexpr int64_t kMaxNoiseSkip = 1 << 27;  // hift.source_noise.skip (release: 5,052,970)
// config.json is ~14 kB; refuse to parse anything that could not be one.
constexpr uintmax_t kMaxConfigBytes = 16u << 20;

void ParseVersion(JsonObjectReader &r, BundleConfig &c) {
  const std::string v = r.String("format_version");
  size_t dot = v.find('.');
  try {
    if (dot == std::string::npos) throw std::invalid_argument(v);
    c.format_major = std::stoi(v.substr(0, dot));
    c.format_minor = std::stoi(v.substr(dot + 1));
  } catch (const std::logic_error &) {
    r.Fail("format_version", "expected \"MAJOR.MINOR\", got \"" + v + "\"");
  }
  if (c.format_major != kBundleFormatMajor || c.format_minor > kBundleFormatMinor) {
    r.Fail("format_version",
           "bundle format " + v + " is not supported by this build (reads " +
               std::to_string(kBundleFormatMajor) + ".0 to " + std::to_string(kBundleFormatMajor) + "." +
               std::to_string(kBundleFormatMinor) + "); re-export the model with a matching exporter");
  }
}

void ReadTokenizer(JsonObjectReader r, TokenizerConfig &t) {
  t.vocab = r.String("vocab");
  t.merges = r.String("merges");
  t.added_tokens = r.String("added_tokens");
  t.endofprompt_id = static_cast<int32_t>(r.Int("endofprompt_id", 0, kMaxVocab));
  t.system_prompt = r.String("system_prompt");
  r.Finish();
}

void ReadFrontend(JsonObjectReader r, BundleConfig &c) {
  {
    auto s = r.Object("speech_tokenizer");
    auto &t = c.speech_tokenizer;
    t.file = s.String("file");
    t.sample_rate = static_cast<int>(s.Int("sample_rate", 8000, 192000));
    t.n_mels = static_cast<int>(s.Int("n_mels", 1, kMaxMels));
    t.n_fft = static_cast<int>(s.Int("n_fft", 16, kMaxFft));
    t.hop_length = static_cast<int>(s.Int("hop_length", 16, kMaxFft));
    t.max_seconds = s.Number("max_seconds", 1, 300);
    t.token_rate = static_cast<int>(s.Int("token_rate", 1, 200));
    s.Finish();
    if (t.hop_length > t.n_fft) s.Fail("hop_length", "must not exceed n_fft");
  }
  {
    auto s = r.Object("campplus");
    auto &t = c.campplus;
    t.file = s.String("file");
    t.sample_rate = static_cast<int>(s.Int("sample_rate", 8000, 192000));
    t.num_mel_bins = static_cast<int>(s.Int("num_mel_bins", 1, kMaxMels));
    t.embedding_dim = static_cast<int>(s.Int("embedding_dim", 1, 8192));
    s.Finish();
  }
  {
    auto s = r.Object("prompt_mel");
    auto &m = c.prompt_mel;
    m.sample_rate = static_cast<int>(s.Int("sample_rate", 8000, 192000));
    m.n_fft = static_cast<int>(s.Int("n_fft", 16, kMaxFft));
    m.hop_length = static_cast<int>(s.Int("hop_length", 16, kMaxFft));
    m.win_length = static_cast<int>(s.Int("win_length", 1, kMaxFft));
    m.n_mels = static_cast<int>(s.Int("n_mels", 1, kMaxMels));
    m.fmin = s.Number("fmin", 0, 1e6);
    m.fmax = s.Number("fmax", 0, 1e6);
    m.center = s.Bool("center");
    s.Finish();
    if (m.win_length > m.n_fft) s.Fail("win_length", "must not exceed n_fft");
    if (m.fmax <= m.fmin || m.fmax > m.sample_rate / 2.0) s.Fail("fmax", "must be in (fmin, sample_rate/2]");
  }
  r.Finish();
}

void ReadLlm(JsonObjectReader r, LlmConfig &l) {
  l.file = r.String("file");
  l.text_embedding = r.String("text_embedding");
  l.speech_embedding = r.String("speech_embedding");
  l.hidden_size = static_cast<int>(r.Int("hidden_size", 1, 16384));
  l.num_layers = static_cast<int>(r.Int("num_layers", 1, 256));
  l.num_attention_heads = static_cast<int>(r.Int("num_attention_heads", 1, 256));
  l.num_kv_heads = static_cast<int>(r.Int("num_kv_heads", 1, 256));
  l.head_dim = static_cast<int>(r.Int("head_dim", 1, 1024));
  l.max_positions = static_cast<int>(r.Int("max_positions", 16, 131072));
  l.rope_theta = r.Number("rope_theta", 1, 1e12);
  l.rms_norm_eps = r.Number("rms_norm_eps", 0, 1);
  l.text_vocab_size = static_cast<int>(r.Int("text_vocab_size", 1, kMaxVocab));
  l.speech_token_size = static_cast<int>(r.Int("speech_token_size", 1, kMaxVocab));
  l.speech_vocab_size = static_cast<int>(r.Int("speech_vocab_size", 1, kMaxVocab));
  l.sos = static_cast<int>(r.Int("sos", 0, kMaxVocab));
  l.eos = static_cast<int>(r.Int("eos", 0, kMaxVocab));
  l.task_id = static_cast<int>(r.Int("task_id", 0, kMaxVocab));
  l.fill = static_cast<int>(r.Int("fill", 0, kMaxVocab));
  const auto stop = r.IntArray("stop_tokens", 0, kMaxVocab);
  if (stop.size() != 2 || stop[0] >= stop[1])
    r.Fail("stop_tokens", "expected a half-open range [begin, end)");
  l.stop_begin = static_cast<int>(stop[0]);
  l.stop_end = static_cast<int>(stop[1]);
  {
    auto s = r.Object("sampling");
    l.sampling.top_p = s.Number("top_p", 0, 1);
    if (!(l.sampling.top_p > 0)) s.Fail("top_p", "must be in (0, 1]: 0 would keep no token");
    l.sampling.top_k = static_cast<int>(s.Int("top_k", 1, kMaxVocab));
    l.sampling.win_size = static_cast<int>(s.Int("win_size", 0, 1000));
    l.sampling.tau_r = s.Number("tau_r", 0, 1);
    s.Finish();
  }
  l.min_token_text_ratio = r.Number("min_token_text_ratio", 0, 100);
  l.max_token_text_ratio = r.Number("max_token_text_ratio", 0, 100);
  const auto silent = r.IntArray("silent_tokens", 0, kMaxVocab);
  if (silent.size() > 1024) r.Fail("silent_tokens", "at most 1024 ids, got " + std::to_string(silent.size()));
  for (int64_t t : silent) l.silent_tokens.push_back(static_cast<int>(t));
  l.max_silent_run = static_cast<int>(r.Int("max_silent_run", 0, 1000));
  if (r.Has("mix_ratio")) {  // optional: bundles exported before text-in streaming lack it
    // upstream's 5:15; each side bounds one decode loop's run before it switches (docs/bundle.md)
    const auto mix = r.IntArray("mix_ratio", 1, 1000);
    if (mix.size() != 2) r.Fail("mix_ratio", "expected [text tokens, speech tokens]");
    l.mix_text = static_cast<int>(mix[0]);
    l.mix_speech = static_cast<int>(mix[1]);
  }
  r.Finish();

  if (l.hidden_size != l.num_attention_heads * l.head_dim)
    r.Fail("hidden_size", "must equal num_attention_heads * head_dim");
  if (l.num_attention_heads % l.num_kv_heads != 0) r.Fail("num_kv_heads", "must divide num_attention_heads");
  if (l.speech_vocab_size <= l.speech_token_size)
    r.Fail("speech_vocab_size", "must exceed speech_token_size (the special ids follow the codes)");
  for (const auto &[name, id] : {std::pair<const char *, int>{"sos", l.sos},
                                 {"eos", l.eos},
                                 {"task_id", l.task_id},
                                 {"fill", l.fill}}) {
    if (id < l.speech_token_size || id >= l.speech_vocab_size)
      r.Fail(name, "must be a special id in [speech_token_size, speech_vocab_size)");
  }
  if (l.stop_begin != l.speech_token_size || l.stop_end > l.speech_vocab_size)
    r.Fail("stop_tokens", "must start at speech_token_size and end within speech_vocab_size");
  if (l.max_token_text_ratio < l.min_token_text_ratio)
    r.Fail("max_token_text_ratio", "must be >= min_token_text_ratio");
  for (int t : l.silent_tokens)
    if (t >= l.speech_token_size) r.Fail("silent_tokens", "ids must be speech codes < speech_token_size");
}

void ReadFlow(JsonObjectReader r, FlowConfig &f) {
  f.encoder = r.String("encoder");
  f.estimator = r.String("estimator");
  f.noise = r.String("noise");
  f.mel_bins = static_cast<int>(r.Int("mel_bins", 1, kMaxMels));
  f.token_mel_ratio = static_cast<int>(r.Int("token_mel_ratio", 1, 16));
  f.pre_lookahead = static_cast<int>(r.Int("pre_lookahead", 0, 64));
  f.spk_embed_dim = static_cast<int>(r.Int("spk_embed_dim", 1, 8192));
  f.vocab_size = static_cast<int>(r.Int("vocab_size", 1, kMaxVocab));
  f.n_timesteps = static_cast<int>(r.Int("n_timesteps", 1, 100));
  f.cfg_rate = r.Number("cfg_rate", 0, 10);
  f.t_scheduler = r.String("t_scheduler");
  if (f.t_scheduler != "cosine")
    r.Fail("t_scheduler", "only \"cosine\" is implemented, got \"" + f.t_scheduler + "\"");
  f.static_chunk_size = static_cast<int>(r.Int("static_chunk_size", 1, 10000));
  f.max_frames = static_cast<int>(r.Int("max_frames", 1, 1000000));
  if (r.Has("estimator_chunk")) {
    auto s = r.Object("estimator_chunk");
    f.estimator_chunk.file = s.String("file");
    f.estimator_chunk.dim = static_cast<int>(s.Int("dim", 1, 65536));
    f.estimator_chunk.depth = static_cast<int>(s.Int("depth", 1, 1024));
    f.estimator_chunk.conv_state = static_cast<int>(s.Int("conv_state", 0, 4096));
    s.Finish();
  }
  r.Finish();
  // Streaming counts chunks in tokens (static_chunk_size / token_mel_ratio): a remainder or a
  // chunk shorter than one token would make that 0 (a division by zero in the stream schedule).
  if (f.static_chunk_size % f.token_mel_ratio != 0)
    r.Fail("static_chunk_size",
           "must be a multiple of token_mel_ratio (" + std::to_string(f.token_mel_ratio) + ")");
}

void ReadHift(JsonObjectReader r, HiftConfig &h) {
  h.f0 = r.String("f0");
  h.generator = r.String("generator");
  h.sample_rate = static_cast<int>(r.Int("sample_rate", 8000, 192000));
  h.hop_length = static_cast<int>(r.Int("hop_length", 16, kMaxFft));
  h.istft_n_fft = static_cast<int>(r.Int("istft_n_fft", 2, 4096));
  h.istft_hop = static_cast<int>(r.Int("istft_hop", 1, 4096));
  h.nb_harmonics = static_cast<int>(r.Int("nb_harmonics", 0, 64));
  h.sine_amp = r.Number("sine_amp", 0, 10);
  h.noise_std = r.Number("noise_std", 0, 10);
  h.voiced_threshold = r.Number("voiced_threshold", 0, 1e5);
  h.audio_limit = r.Number("audio_limit", 0, 1);
  if (!(h.audio_limit > 0)) r.Fail("audio_limit", "must be in (0, 1]: 0 would clamp every sample to silence");
  h.lookahead_frames = static_cast<int>(r.Int("lookahead_frames", 0, 1024));
  if (r.Has("left_context_frames"))
    h.left_context_frames = static_cast<int>(r.Int("left_context_frames", 1, 1 << 16));
  {
    auto s = r.Object("source_noise");
    h.source_noise.generator = s.String("generator");
    if (h.source_noise.generator != "mt19937")
      s.Fail("generator", "only \"mt19937\" is implemented, got \"" + h.source_noise.generator + "\"");
    h.source_noise.seed = static_cast<uint32_t>(s.Int("seed", 0, std::numeric_limits<uint32_t>::max()));
    // The skip is drawn one MT19937 output at a time at load (~9 ns each on the project machine):
    // the bound keeps that under ~1.2 s while leaving 26x the release's 5,052,970.
    h.source_noise.skip = static_cast<uint64_t>(s.Int("skip", 0, kMaxNoiseSkip));
    s.Finish();
  }
  r.Finish();
  if (h.istft_n_fft % 2 != 0) r.Fail("istft_n_fft", "must be even (the spectrum has n_fft/2 + 1 bins)");
  // Hann windows overlap-add to a non-vanishing envelope only for hop <= n_fft/2 (torch's NOLA
  // condition); a larger hop leaves gaps that the ISTFT would divide by zero.
  if (h.istft_hop > h.istft_n_fft / 2) r.Fail("istft_hop", "must be at most istft_n_fft / 2");
  if (h.hop_length % h.istft_hop != 0) r.Fail("istft_hop", "must divide hop_length");
}

void ReadStreaming(JsonObjectReader r, StreamingConfig &s) {
  // Every streaming chunk re-runs the flow over all tokens so far: tiny hops make a segment's
  // cost quadratic in its length, hence the floor of 10 tokens (the release uses 25).
  s.token_hop_len = static_cast<int>(r.Int("token_hop_len", 10, 1000));
  s.token_max_hop_len = static_cast<int>(r.Int("token_max_hop_len", 10, 10000));
  s.stream_scale_factor = static_cast<int>(r.Int("stream_scale_factor", 1, 16));
  r.Finish();
  if (s.token_max_hop_len < s.token_hop_len) r.Fail("token_max_hop_len", "must be >= token_hop_len");
}

// A file name from `files` must stay inside the bundle: relative, no "..", no empty components.
void CheckBundlePath(const JsonObjectReader &r, const std::string &name) {
  const std::filesystem::path p(name);
  bool ok = !name.empty() && p.is_relative() && name.find('\\') == std::string::npos &&
            name.find("//") == std::string::npos && name.back() != '/';
  for (const auto &part : p) ok = ok && part != ".." && part != "." && !part.empty();
  if (!ok) r.Fail("files", "\"" + name + "\" is not a plain relative path inside the bundle");
}

void ReadFiles(JsonObjectReader &r, BundleConfig &c) {
  auto files = r.Object("files");
  for (const auto &name : r.ObjectKeys("files")) {
    CheckBundlePath(r, name);
    auto f = files.Object(name);
    BundleFile entry;
    entry.bytes = static_cast<uint64_t>(f.Int("bytes", 0, std::numeric_limits<int64_t>::max()));
    entry.sha256 = f.String("sha256");
    f.Finish();
    c.files[name] = entry;
  }
}

void CheckCrossSection(JsonObjectReader &r, const BundleConfig &c) {
  if (c.hift.sample_rate != c.sample_rate) r.Fail("hift.sample_rate", "must equal sample_rate");
  if (c.prompt_mel.sample_rate != c.sample_rate)
    r.Fail("frontend.prompt_mel.sample_rate", "must equal sample_rate");
  if (c.prompt_mel.hop_length != c.hift.hop_length)
    r.Fail("frontend.prompt_mel.hop_length", "must equal hift.hop_length (one mel frame per vocoder hop)");
  if (c.prompt_mel.n_mels != c.flow.mel_bins)
    r.Fail("frontend.prompt_mel.n_mels", "must equal flow.mel_bins");
  if (c.flow.vocab_size != c.llm.speech_token_size)
    r.Fail("flow.vocab_size", "must equal llm.speech_token_size");
  if (c.campplus.embedding_dim != c.flow.spk_embed_dim)
    r.Fail("frontend.campplus.embedding_dim", "must equal flow.spk_embed_dim");
  if (c.tokenizer.endofprompt_id >= c.llm.text_vocab_size)
    r.Fail("tokenizer.endofprompt_id", "must be below llm.text_vocab_size");
  const std::vector<std::string> named = {
      c.tokenizer.vocab,       c.tokenizer.merges,     c.tokenizer.added_tokens,
      c.speech_tokenizer.file, c.campplus.file,        c.llm.file,
      c.llm.text_embedding,    c.llm.speech_embedding, c.flow.encoder,
      c.flow.estimator,        c.flow.noise,           c.hift.f0,
      c.hift.generator};
  for (const auto &rel : named) {
    if (!c.files.count(rel)) r.Fail("files", "does not list \"" + rel + "\", which the config uses");
  }
  const std::string &chunk = c.flow.estimator_chunk.file;
  if (!chunk.empty() && !c.files.count(chunk))
    r.Fail("files", "does not list \"" + chunk + "\", which the config uses");
}

std::string ReadConfigText(const std::filesystem::path &path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxConfigBytes) {
    throw Error(ErrorCode::kBundle, path.string() + ": " + std::to_string(size) +
                                        " bytes; a bundle config is a few kB (at most 16 MB accepted)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kBundle, path.string() + ": cannot open");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

BundleConfig BundleConfig::Parse(std::string_view json_text, const std::filesystem::path &bundle_dir) {
  BundleConfig c;
  c.dir = bundle_dir;
  c.config_path = bundle_dir / "config.json";
  if (json_text.size() > kMaxConfigBytes)
    throw Error(ErrorCode::kBundle, c.config_path.string() + ": larger than 16 MB; not a bundle config");
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception &e) {  // parse_error, and out_of_range for 1e400
    throw Error(ErrorCode::kBundle, c.config_path.string() + ": invalid JSON: " + e.what());
  }
  JsonObjectReader r(root, c.config_path.string());

  // 1. format and version first, so that a foreign file gets a clear message.
  const std::string format = r.String("format");
  if (format != "cosyvoice-ort-bundle") {
    r.Fail("format", "expected \"cosyvoice-ort-bundle\", got \"" + format + "\"");
  }
  ParseVersion(r, c);

  // 2. fields, their ranges (docs/bundle.md §2.1) and the facts that tie them together
  {
    auto m = r.Object("model");
    c.model_name = m.String("name");
    m.ObjectKeys("source_files");  // informational
    m.Finish();
  }
  {
    auto e = r.Object("exporter");
    c.exporter_version = e.String("version");
    for (const char *k : {"torch", "onnx", "created"}) e.String(k);
    e.Int("opset", 1, 1000);
    e.Finish();
  }
  c.sample_rate = static_cast<int>(r.Int("sample_rate", 8000, 192000));
  ReadFiles(r, c);
  ReadTokenizer(r.Object("tokenizer"), c.tokenizer);
  ReadFrontend(r.Object("frontend"), c);
  ReadLlm(r.Object("llm"), c.llm);
  ReadFlow(r.Object("flow"), c.flow);
  ReadHift(r.Object("hift"), c.hift);
  ReadStreaming(r.Object("streaming"), c.streaming);
  c.checks_json = r.Raw("checks").dump();
  if (r.Has("variants")) {
    if (c.format_minor < 1) r.Fail("variants", "needs format_version 1.1 or later (docs/bundle.md §7)");
    c.variants = ReadVariants(r.Raw("variants"), c.config_path.string(),
                              [&c](const std::string &rel) { return c.files.count(rel) > 0; });
  }
  r.Finish();
  CheckCrossSection(r, c);
  return c;
}

BundleConfig BundleConfig::Load(const std::filesystem::path &bundle_dir) {
  const auto config_path = bundle_dir / "config.json";
  if (!std::filesystem::is_directory(bundle_dir)) {
    throw Error(ErrorCode::kBundle,
                bundle_dir.string() + ": not a directory (expected a model bundle, docs/bundle.md)");
  }
  if (!std::filesystem::is_regular_file(config_path)) {
    throw Error(ErrorCode::kBundle,
                config_path.string() + ": missing (is this a model bundle? docs/bundle.md)");
  }
  BundleConfig c = Parse(ReadConfigText(config_path), bundle_dir);
  c.CheckFileSizes();
  return c;
}

void BundleConfig::CheckFileSizes() const {
  // 3. every file the config lists is present with the recorded size
  for (const auto &[rel, entry] : files) {
    const auto path = Path(rel);
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) {
      throw Error(ErrorCode::kBundle, path.string() + ": missing from the bundle (listed in config.json)");
    }
    if (size != entry.bytes) {
      throw Error(ErrorCode::kBundle, path.string() + ": size " + std::to_string(size) +
                                          " bytes, config.json records " + std::to_string(entry.bytes) +
                                          " (truncated or replaced file?)");
    }
  }
}

void BundleConfig::VerifyChecksums() const {
  for (const auto &[rel, entry] : files) {
    const std::string got = Sha256File(Path(rel));
    if (got != entry.sha256) {
      throw Error(ErrorCode::kBundle, Path(rel).string() + ": sha256 " + got +
                                          " does not match config.json (" + entry.sha256 +
                                          "): the file is corrupt or was replaced");
    }
  }
}

}  // namespace cosyvoice
