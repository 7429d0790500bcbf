// src/models/ort_env.h - the process-wide ONNX Runtime environment and its shared thread pool.
#pragma once

#include <onnxruntime_cxx_api.h>  // NOLINT

namespace cosyvoice {

// ONNX Runtime wants exactly one Ort::Env per process, alive longer than every session. It is
// created on first use with global intra-op and inter-op thread pools that every session shares
// (sessions are created with DisablePerSessionThreads, models/session_factory.cc), so N concurrent
// requests on N sessions use one pool instead of N x graphs pools. Never destroyed before exit.
//
// The first call fixes the pool sizes (intra 0: one thread per physical core, ONNX Runtime's
// choice). A later call asking for other sizes keeps the existing pool and logs one warning.
Ort::Env &OrtEnvironment(int intra_op_threads, int inter_op_threads);
// The environment as it is, created with default sizes (0, 1) if nothing has created it yet.
Ort::Env &OrtEnvironment();
// The intra-op pool size the environment was created with (0: ONNX Runtime's default).
int OrtEnvironmentIntraOpThreads();

}  // namespace cosyvoice
