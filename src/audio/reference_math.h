// src/audio/reference_math.h - float cos/pow/log rounded as the reference's torch kernels round them.
//
// torch (CPU, AVX2 kernels) evaluates float32 cos/pow/log with SLEEF's 1-ulp FMA variants, which
// differ from glibc's correctly rounded results in the last bit for a few arguments. The analysis
// windows (Hann, Povey) are built with them, and a 1-ulp difference in a window value moves a
// spectral bin 80 dB below the frame peak by ~1e-4 in the log domain. With SLEEF (Debian's
// libsleef, already a dependency of python3-torch) these functions reproduce torch's values bit
// for bit; without it they fall back to <cmath> (features then agree to ~2e-4 instead of ~1e-6).
#pragma once

namespace cosyvoice {

float RefCos(float x);
float RefPow(float x, float y);
float RefLog(float x);
float RefLog10(float x);
// True when the SLEEF FMA variants are in use (built with SLEEF and the CPU has FMA).
bool RefMathIsSleef();

}  // namespace cosyvoice
