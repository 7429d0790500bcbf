// src/capi/handles.h - what the C API's opaque handles hold.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "capi/owned_audio.h"
#include "cosyvoice/cosyvoice.h"
#include "cosyvoice/cosyvoice_c.h"

// A caller's reference to a shared, immutable Model (sessions hold their own references).
struct cosyvoice_model {
  std::shared_ptr<const cosyvoice::Model> model;
  std::string providers;  // ModelInfo::providers joined with ',', for cosyvoice_model_info
  std::string variants;   // ModelInfo::precisions as family=variant joined with ','
};

struct cosyvoice_voice {
  cosyvoice::Voice voice;
};

struct cosyvoice_session {
  explicit cosyvoice_session(std::shared_ptr<const cosyvoice::Model> model) : session(std::move(model)) {}
  cosyvoice::Session session;
};
