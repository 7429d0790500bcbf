// src/audio/fft.cc
//
// The 2/3/4/5 real passes follow the FFTPACK algorithm (Swarztrauber's rfftf) in the form torch's
// pocketfft uses: same factor order, same twiddle table layout, same expression trees. Float
// addition and multiplication are commutative in IEEE arithmetic, so only the grouping and the
// order of subtractions matter; every line below keeps the reference's. This file is compiled
// with -ffp-contract=off so that no compiler fuses a*b+c into an FMA and changes the rounding.
#include "audio/fft.h"

#include <kissfft/kiss_fftr.h>

#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>

#include "cosyvoice/error.h"

namespace cosyvoice {

struct RealFft::Kiss {
  kiss_fftr_cfg cfg = nullptr;
  std::mutex mutex;  // kiss_fftr keeps scratch in its cfg
  ~Kiss() { kiss_fftr_free(cfg); }
};

namespace {

// (cos, sin) of 2*pi*m/n in double, reduced to the first octant by exact integer symmetry so that
// exact values (0, +-1, +-sqrt(1/2)) come out exact, as pocketfft's table does.
std::pair<double, double> UnitRoot(long long m, long long n) {
  m %= n;
  double sin_sign = 1.0;
  if (2 * m > n) {  // theta in (pi, 2pi): mirror
    m = n - m;
    sin_sign = -1.0;
  }
  // theta = 2*pi*m/n in [0, pi]
  double cos_sign = 1.0;
  long long p = m, q = n;
  if (4 * p > q) {  // theta in (pi/2, pi]: theta = pi - 2*pi*(q-2p)/(2q)
    p = q - 2 * p;
    q = 2 * q;
    cos_sign = -1.0;
  }
  bool swap = false;
  if (8 * p > q) {  // theta in (pi/4, pi/2]: theta = pi/2 - 2*pi*(q-4p)/(4q)
    p = q - 4 * p;
    q = 4 * q;
    swap = true;
  }
  const double angle = 2.0 * M_PI * static_cast<double>(p) / static_cast<double>(q);
  double c = std::cos(angle), s = std::sin(angle);
  if (swap) std::swap(c, s);
  return {cos_sign * c, sin_sign * s};
}

// FFTPACK real forward passes. cc: input of l1 blocks, ch: output; see RealFft::RunPasses.
struct Pass {
  int ido, l1;
  const float *cc;
  float *ch;
  const float *wa;
  int cdim;
  float in(int a, int b, int c) const { return cc[a + ido * (b + l1 * c)]; }
  float &out(int a, int b, int c) const { return ch[a + ido * (b + cdim * c)]; }
  float wr(int x, int i) const { return wa[i + x * (ido - 1)]; }
  // (re, im) = conj(w) * (e + i f) with w = (wa[x][i-2], wa[x][i-1])
  void ConjMul(int x, int i, float e, float f, float &re, float &im) const {
    const float c = wr(x, i - 2), d = wr(x, i - 1);
    re = c * e + d * f;
    im = c * f - d * e;
  }
};

void Radf2(const Pass &p) {
  const int ido = p.ido;
  for (int k = 0; k < p.l1; ++k) {
    p.out(0, 0, k) = p.in(0, k, 0) + p.in(0, k, 1);
    p.out(ido - 1, 1, k) = p.in(0, k, 0) - p.in(0, k, 1);
  }
  if ((ido & 1) == 0)
    for (int k = 0; k < p.l1; ++k) {
      p.out(0, 1, k) = -p.in(ido - 1, k, 1);
      p.out(ido - 1, 0, k) = p.in(ido - 1, k, 0);
    }
  if (ido <= 2) return;
  for (int k = 0; k < p.l1; ++k)
    for (int i = 2; i < ido; i += 2) {
      const int ic = ido - i;
      float tr2, ti2;
      p.ConjMul(0, i, p.in(i - 1, k, 1), p.in(i, k, 1), tr2, ti2);
      p.out(i - 1, 0, k) = p.in(i - 1, k, 0) + tr2;
      p.out(ic - 1, 1, k) = p.in(i - 1, k, 0) - tr2;
      p.out(i, 0, k) = ti2 + p.in(i, k, 0);
      p.out(ic, 1, k) = ti2 - p.in(i, k, 0);
    }
}

void Radf3(const Pass &p) {
  constexpr float taur = -0.5f, taui = 0.8660254037844386467637231707529362f;
  const int ido = p.ido;
  for (int k = 0; k < p.l1; ++k) {
    const float cr2 = p.in(0, k, 1) + p.in(0, k, 2);
    p.out(0, 0, k) = p.in(0, k, 0) + cr2;
    p.out(0, 2, k) = taui * (p.in(0, k, 2) - p.in(0, k, 1));
    p.out(ido - 1, 1, k) = p.in(0, k, 0) + taur * cr2;
  }
  if (ido == 1) return;
  for (int k = 0; k < p.l1; ++k)
    for (int i = 2; i < ido; i += 2) {
      const int ic = ido - i;
      float dr2, di2, dr3, di3;
      p.ConjMul(0, i, p.in(i - 1, k, 1), p.in(i, k, 1), dr2, di2);
      p.ConjMul(1, i, p.in(i - 1, k, 2), p.in(i, k, 2), dr3, di3);
      const float cr2 = dr2 + dr3, ci2 = di2 + di3;
      p.out(i - 1, 0, k) = p.in(i - 1, k, 0) + cr2;
      p.out(i, 0, k) = p.in(i, k, 0) + ci2;
      const float tr2 = p.in(i - 1, k, 0) + taur * cr2;
      const float ti2 = p.in(i, k, 0) + taur * ci2;
      const float tr3 = taui * (di2 - di3);
      const float ti3 = taui * (dr3 - dr2);
      p.out(i - 1, 2, k) = tr2 + tr3;
      p.out(ic - 1, 1, k) = tr2 - tr3;
      p.out(i, 2, k) = ti3 + ti2;
      p.out(ic, 1, k) = ti3 - ti2;
    }
}

void Radf4(const Pass &p) {
  constexpr float hsqt2 = 0.707106781186547524400844362104849f;
  const int ido = p.ido;
  for (int k = 0; k < p.l1; ++k) {
    const float tr1 = p.in(0, k, 3) + p.in(0, k, 1);
    p.out(0, 2, k) = p.in(0, k, 3) - p.in(0, k, 1);
    const float tr2 = p.in(0, k, 0) + p.in(0, k, 2);
    p.out(ido - 1, 1, k) = p.in(0, k, 0) - p.in(0, k, 2);
    p.out(0, 0, k) = tr2 + tr1;
    p.out(ido - 1, 3, k) = tr2 - tr1;
  }
  if ((ido & 1) == 0)
    for (int k = 0; k < p.l1; ++k) {
      const float ti1 = -hsqt2 * (p.in(ido - 1, k, 1) + p.in(ido - 1, k, 3));
      const float tr1 = hsqt2 * (p.in(ido - 1, k, 1) - p.in(ido - 1, k, 3));
      p.out(ido - 1, 0, k) = p.in(ido - 1, k, 0) + tr1;
      p.out(ido - 1, 2, k) = p.in(ido - 1, k, 0) - tr1;
      p.out(0, 3, k) = ti1 + p.in(ido - 1, k, 2);
      p.out(0, 1, k) = ti1 - p.in(ido - 1, k, 2);
    }
  if (ido <= 2) return;
  for (int k = 0; k < p.l1; ++k)
    for (int i = 2; i < ido; i += 2) {
      const int ic = ido - i;
      float cr2, ci2, cr3, ci3, cr4, ci4;
      p.ConjMul(0, i, p.in(i - 1, k, 1), p.in(i, k, 1), cr2, ci2);
      p.ConjMul(1, i, p.in(i - 1, k, 2), p.in(i, k, 2), cr3, ci3);
      p.ConjMul(2, i, p.in(i - 1, k, 3), p.in(i, k, 3), cr4, ci4);
      const float tr1 = cr4 + cr2, tr4 = cr4 - cr2;
      const float ti1 = ci2 + ci4, ti4 = ci2 - ci4;
      const float tr2 = p.in(i - 1, k, 0) + cr3, tr3 = p.in(i - 1, k, 0) - cr3;
      const float ti2 = p.in(i, k, 0) + ci3, ti3 = p.in(i, k, 0) - ci3;
      p.out(i - 1, 0, k) = tr2 + tr1;
      p.out(ic - 1, 3, k) = tr2 - tr1;
      p.out(i, 0, k) = ti1 + ti2;
      p.out(ic, 3, k) = ti1 - ti2;
      p.out(i - 1, 2, k) = tr3 + ti4;
      p.out(ic - 1, 1, k) = tr3 - ti4;
      p.out(i, 2, k) = tr4 + ti3;
      p.out(ic, 1, k) = tr4 - ti3;
    }
}

void Radf5(const Pass &p) {
  constexpr float tr11 = 0.3090169943749474241022934171828191f, ti11 = 0.9510565162951535721164393333793821f,
                  tr12 = -0.8090169943749474241022934171828191f, ti12 = 0.5877852522924731291687059546390728f;
  const int ido = p.ido;
  for (int k = 0; k < p.l1; ++k) {
    const float cr2 = p.in(0, k, 4) + p.in(0, k, 1), ci5 = p.in(0, k, 4) - p.in(0, k, 1);
    const float cr3 = p.in(0, k, 3) + p.in(0, k, 2), ci4 = p.in(0, k, 3) - p.in(0, k, 2);
    const float c0 = p.in(0, k, 0);
    p.out(0, 0, k) = c0 + cr2 + cr3;
    p.out(ido - 1, 1, k) = c0 + tr11 * cr2 + tr12 * cr3;
    p.out(0, 2, k) = ti11 * ci5 + ti12 * ci4;
    p.out(ido - 1, 3, k) = c0 + tr12 * cr2 + tr11 * cr3;
    p.out(0, 4, k) = ti12 * ci5 - ti11 * ci4;
  }
  if (ido == 1) return;
  for (int k = 0; k < p.l1; ++k)
    for (int i = 2; i < ido; i += 2) {
      const int ic = ido - i;
      float dr2, di2, dr3, di3, dr4, di4, dr5, di5;
      p.ConjMul(0, i, p.in(i - 1, k, 1), p.in(i, k, 1), dr2, di2);
      p.ConjMul(1, i, p.in(i - 1, k, 2), p.in(i, k, 2), dr3, di3);
      p.ConjMul(2, i, p.in(i - 1, k, 3), p.in(i, k, 3), dr4, di4);
      p.ConjMul(3, i, p.in(i - 1, k, 4), p.in(i, k, 4), dr5, di5);
      const float cr2 = dr5 + dr2, ci5 = dr5 - dr2;
      const float ci2 = di2 + di5, cr5 = di2 - di5;
      const float cr3 = dr4 + dr3, ci4 = dr4 - dr3;
      const float ci3 = di3 + di4, cr4 = di3 - di4;
      const float re0 = p.in(i - 1, k, 0), im0 = p.in(i, k, 0);
      p.out(i - 1, 0, k) = re0 + cr2 + cr3;
      p.out(i, 0, k) = im0 + ci2 + ci3;
      const float tr2 = re0 + tr11 * cr2 + tr12 * cr3;
      const float ti2 = im0 + tr11 * ci2 + tr12 * ci3;
      const float tr3 = re0 + tr12 * cr2 + tr11 * cr3;
      const float ti3 = im0 + tr12 * ci2 + tr11 * ci3;
      const float tr5 = cr5 * ti11 + cr4 * ti12, tr4 = cr5 * ti12 - cr4 * ti11;
      const float ti5 = ci5 * ti11 + ci4 * ti12, ti4 = ci5 * ti12 - ci4 * ti11;
      p.out(i - 1, 2, k) = tr2 + tr5;
      p.out(ic - 1, 1, k) = tr2 - tr5;
      p.out(i, 2, k) = ti5 + ti2;
      p.out(ic, 1, k) = ti5 - ti2;
      p.out(i - 1, 4, k) = tr3 + tr4;
      p.out(ic - 1, 3, k) = tr3 - tr4;
      p.out(i, 4, k) = ti4 + ti3;
      p.out(ic, 3, k) = ti4 - ti3;
    }
}

}  // namespace

RealFft::RealFft(int n) : n_(n) {
  if (n < 1) throw Error(ErrorCode::kInvalidArgument, "FFT size must be positive, got " + std::to_string(n));
  // FFTPACK factor order: 4s, then one 2 moved to the front, then odd factors.
  std::vector<int> radices;
  int len = n;
  while (len % 4 == 0) {
    radices.push_back(4);
    len /= 4;
  }
  if (len % 2 == 0) {
    len /= 2;
    radices.push_back(2);
    std::swap(radices.front(), radices.back());
  }
  for (int d = 3; d * d <= len; d += 2)
    while (len % d == 0) {
      radices.push_back(d);
      len /= d;
    }
  if (len > 1) radices.push_back(len);
  bool smooth = true;
  for (int r : radices) smooth = smooth && r <= 5;

  if (!smooth) {
    if (n % 2 != 0)
      throw Error(
          ErrorCode::kInvalidArgument,
          "FFT size " + std::to_string(n) + ": expected an even size or one whose factors are 2, 3, 5");
    kiss_ = std::make_unique<Kiss>();
    kiss_->cfg = kiss_fftr_alloc(n, 0, nullptr, nullptr);
    if (kiss_->cfg == nullptr)
      throw Error(ErrorCode::kRuntime, "kissfft: cannot plan size " + std::to_string(n));
    return;
  }

  // Twiddles: stage k (radix ip, l1 = product of the earlier radices, ido = n/(l1*ip)) stores
  // cos/sin(2*pi*j*l1*i/n) for j = 1..ip-1, i = 1..(ido-1)/2. The last stage needs none.
  size_t total = 0;
  {
    int l1 = 1;
    for (size_t k = 0; k + 1 < radices.size(); ++k) {
      const int ido = n / (l1 * radices[k]);
      total += static_cast<size_t>((radices[k] - 1) * (ido - 1));
      l1 *= radices[k];
    }
  }
  twiddles_.assign(total, 0.0f);
  size_t offset = 0;
  int l1 = 1;
  for (size_t k = 0; k < radices.size(); ++k) {
    const int ip = radices[k], ido = n / (l1 * ip);
    Stage stage{ip, nullptr};
    if (k + 1 < radices.size()) {
      float *tw = twiddles_.data() + offset;
      for (int j = 1; j < ip; ++j)
        for (int i = 1; i <= (ido - 1) / 2; ++i) {
          const auto [c, s] = UnitRoot(static_cast<long long>(j) * l1 * i, n);
          tw[(j - 1) * (ido - 1) + 2 * i - 2] = static_cast<float>(c);
          tw[(j - 1) * (ido - 1) + 2 * i - 1] = static_cast<float>(s);
        }
      stage.twiddles = tw;
      offset += static_cast<size_t>((ip - 1) * (ido - 1));
    }
    stages_.push_back(stage);
    l1 *= ip;
  }
}

RealFft::~RealFft() = default;

void RealFft::RunPasses(float *data, float *scratch) const {
  // Stages run last to first; stage k sees l1 = product of radices before it.
  float *p1 = data, *p2 = scratch;
  int l1 = n_;
  for (size_t k1 = 0; k1 < stages_.size(); ++k1) {
    const Stage &stage = stages_[stages_.size() - 1 - k1];
    const int ido = n_ / l1;
    l1 /= stage.radix;
    const Pass pass{ido, l1, p1, p2, stage.twiddles, stage.radix};
    switch (stage.radix) {
      case 2: Radf2(pass); break;
      case 3: Radf3(pass); break;
      case 4: Radf4(pass); break;
      default: Radf5(pass); break;
    }
    std::swap(p1, p2);
  }
  if (p1 != data) std::memcpy(data, p1, sizeof(float) * static_cast<size_t>(n_));
}

void RealFft::Forward(const float *in, std::complex<float> *out, std::vector<float> &work) const {
  if (kiss_) {
    std::lock_guard<std::mutex> lock(kiss_->mutex);
    static_assert(sizeof(kiss_fft_cpx) == sizeof(std::complex<float>), "layout");
    kiss_fftr(kiss_->cfg, in, reinterpret_cast<kiss_fft_cpx *>(out));
    return;
  }
  const size_t n = static_cast<size_t>(n_);
  if (work.size() < 2 * n) work.resize(2 * n);
  float *data = work.data();
  std::memcpy(data, in, sizeof(float) * n);
  RunPasses(data, data + n);
  // FFTPACK half-complex order: r0, r1, i1, r2, i2, ..., [r_{n/2}]
  out[0] = {data[0], 0.0f};
  size_t i = 1, k = 1;
  for (; i + 1 < n; i += 2, ++k) out[k] = {data[i], data[i + 1]};
  if (i < n) out[k] = {data[i], 0.0f};
}

}  // namespace cosyvoice
