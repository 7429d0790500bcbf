// src/audio/reference_math.cc
#include "audio/reference_math.h"

#include <cmath>

#ifdef COSYVOICE_HAVE_SLEEF
// sleef.h declares the scalar FMA variants only when this file is compiled with -mfma; they are
// exported by libsleef regardless and selected here at run time, so declare them directly.
extern "C" {
float Sleef_cosf1_u10purecfma(float);
float Sleef_powf1_u10purecfma(float, float);
float Sleef_logf1_u10purecfma(float);
float Sleef_log10f1_u10purecfma(float);
}
#endif

namespace cosyvoice {
namespace {

#if defined(COSYVOICE_HAVE_SLEEF) && (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
bool CpuHasFma() {
  static const bool has = __builtin_cpu_supports("fma") != 0;
  return has;
}
#elif defined(COSYVOICE_HAVE_SLEEF)
bool CpuHasFma() {
  return true;
}  // the non-x86 SLEEF "purecfma" builds rely on the ISA's fma
#endif

}  // namespace

bool RefMathIsSleef() {
#ifdef COSYVOICE_HAVE_SLEEF
  return CpuHasFma();
#else
  return false;
#endif
}

float RefCos(float x) {
#ifdef COSYVOICE_HAVE_SLEEF
  if (CpuHasFma()) return Sleef_cosf1_u10purecfma(x);
#endif
  return std::cos(x);
}

float RefPow(float x, float y) {
#ifdef COSYVOICE_HAVE_SLEEF
  if (CpuHasFma()) return Sleef_powf1_u10purecfma(x, y);
#endif
  return std::pow(x, y);
}

float RefLog(float x) {
#ifdef COSYVOICE_HAVE_SLEEF
  if (CpuHasFma()) return Sleef_logf1_u10purecfma(x);
#endif
  return std::log(x);
}

float RefLog10(float x) {
#ifdef COSYVOICE_HAVE_SLEEF
  if (CpuHasFma()) return Sleef_log10f1_u10purecfma(x);
#endif
  return std::log10(x);
}

}  // namespace cosyvoice
