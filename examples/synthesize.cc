// examples/synthesize.cc - the C++ API in one file (docs/api.md): load a model once, prepare a
// voice, then synthesize two requests at the same time on two threads, one Session each, the
// second one streamed chunk by chunk.
//
//   synthesize BUNDLE PROMPT.wav "what PROMPT.wav says" OUT_PREFIX
//   -> OUT_PREFIX0.wav (zero-shot) and OUT_PREFIX1.wav (cross-lingual, streamed)
#include <cosyvoice/cosyvoice.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s BUNDLE PROMPT.wav TRANSCRIPT OUT_PREFIX\n", argv[0]);
    return 2;
  }
  const std::string out_prefix = argv[4];
  try {
    // 1. The model: loaded once, immutable, shared by every thread.
    cosyvoice::ModelConfig config;
    config.model_dir = argv[1];
    config.runtime.intra_op_threads = 2;  // the process-wide ONNX Runtime pool
    const std::shared_ptr<const cosyvoice::Model> model = cosyvoice::Model::Load(config);

    // 2. A voice: prepared once from a recording (could be saved with voice.Save and reused).
    const cosyvoice::Voice voice = model->CreateVoiceFromFile(argv[2], argv[3]);

    // 3. Requests: one Session per thread; Sessions are cheap and reusable.
    const std::vector<std::string> texts = {"Hello! This voice was cloned from a short recording.",
                                            "你好，这是第二个请求，一边生成一边输出。"};
    std::vector<std::thread> workers;
    std::vector<std::string> errors(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      workers.emplace_back([&, i] {
        try {
          cosyvoice::Session session(model);
          cosyvoice::SynthesisRequest request;
          request.mode = i == 0 ? cosyvoice::Mode::kZeroShot : cosyvoice::Mode::kCrossLingual;
          request.text = texts[i];
          request.voice = &voice;
          cosyvoice::SynthesisOptions options;
          options.seed = i;         // same seed, same text -> same audio
          options.stream = i == 1;  // audio arrives in chunks while the sentence is generated
          // Called on this thread with each piece of audio; returning false cancels the request.
          // (Session::Stream does the same without keeping a copy of the whole output.)
          auto on_audio = [i](const cosyvoice::AudioChunk &chunk) {
            std::fprintf(stderr, "request %zu: %zu samples (segment %d of %d)\n", i, chunk.num_samples,
                         chunk.segment + 1, chunk.num_segments);
            return true;
          };
          cosyvoice::SynthesisStats stats;
          const cosyvoice::Audio audio = session.Synthesize(request, options, on_audio, &stats);
          cosyvoice::WriteWavFile(out_prefix + std::to_string(i) + ".wav", audio);
          std::fprintf(stderr, "request %zu: %.2f s of audio in %.2f s\n", i, stats.audio_seconds,
                       stats.total_seconds);
        } catch (const cosyvoice::Error &e) {
          errors[i] = std::string(cosyvoice::ErrorCodeName(e.code())) + ": " + e.what();
        }
      });
    }
    for (std::thread &t : workers) t.join();
    for (const std::string &e : errors) {
      if (!e.empty()) {
        std::fprintf(stderr, "error: %s\n", e.c_str());
        return 1;
      }
    }
  } catch (const cosyvoice::Error &e) {
    std::fprintf(stderr, "error: %s: %s\n", cosyvoice::ErrorCodeName(e.code()), e.what());
    return 1;
  }
  return 0;
}
