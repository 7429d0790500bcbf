// src/models/ort_env.h - the process-wide ONNX Runtime environment.
#pragma once

#include <onnxruntime_cxx_api.h>  // NOLINT

namespace cosyvoice {

// ONNX Runtime wants exactly one Ort::Env per process, alive longer than every session.
// Created on first use; never destroyed before exit.
Ort::Env &OrtEnvironment();

}  // namespace cosyvoice
