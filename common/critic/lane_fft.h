// A complex FFT that transforms sixteen signals at once, one per vector lane, for the critic's
// spectrogram on the CPU. LibTorch's CPU FFT (pocketfft, in Debian's build for the SSE2 baseline)
// took ~410 us of the ~760 us that a 2 s clip's MFCC cost; with the transforms side by side in
// lanes every butterfly is plain vector arithmetic, whatever the size's factors.
//
// Mixed radix (4, 2, 3, 5, 7), decimation in time, in place: the caller stores the input in the
// order input_order() gives (so no separate reordering pass), and Transform leaves bin k in slot k.
// Data are split real and imaginary arrays of `size() * kFftLanes` floats, lane-minor: element j
// of lane l is at [j * kFftLanes + l].
#pragma once

#include <optional>
#include <vector>

namespace dd::critic {

inline constexpr int kFftLanes = 16;

// Sixteen floats: one AVX-512 register, two AVX2 or four SSE registers in the callers' clones.
typedef float FftLanes __attribute__((vector_size(kFftLanes * sizeof(float))));

class LaneFft {
 public:
  // nullopt when n < 1 or n has a prime factor above 7.
  static std::optional<LaneFft> Create(int n);
  LaneFft() = default;  // Size 0, until assigned a plan from Create.

  int size() const { return n_; }
  // Slot i of the input must hold input element input_order()[i].
  const std::vector<int>& input_order() const { return order_; }

  // X[k] = sum_j x[j] exp(-2 pi i j k / n) in every lane. Inline (and forced so) because the
  // callers are compiled once per instruction set (target_clones), and this must be compiled
  // inside each of them to use its vector width.
  [[gnu::always_inline]] inline void Transform(float* re, float* im) const;

 private:
  // One pass: `blocks` groups of `radix` transforms of `span` points, each group combined into one
  // transform of radix * span points.
  struct Stage {
    int radix;
    int span;
    int blocks;
  };

  // One pass of radix P (every stage's radix is one of Create's).
  template <int P>
  [[gnu::always_inline]] inline void Pass(const Stage& stage, float* re, float* im) const;

  int n_ = 0;
  std::vector<Stage> stages_;  // In the order they run: the smallest transforms first.
  std::vector<int> order_;
  // exp(-2 pi i j / n) = cos_[j] - i sin_[j], j < n, rounded from double.
  std::vector<float> cos_, sin_;
};

template <int P>
void LaneFft::Pass(const Stage& stage, float* re, float* im) const {
  const int m = stage.span;
  // The P-point DFT's own roots exp(-2 pi i r / P) = W_n^(r n / P), the same for the whole pass.
  float root_cos[P], root_sin[P];
  for (int r = 0; r < P; ++r) {
    root_cos[r] = cos_[static_cast<size_t>(r * (n_ / P))];
    root_sin[r] = sin_[static_cast<size_t>(r * (n_ / P))];
  }
  for (int block = 0; block < stage.blocks; ++block) {
    float* block_re = re + static_cast<long>(block) * P * m * kFftLanes;
    float* block_im = im + static_cast<long>(block) * P * m * kFftLanes;
    for (int u = 0; u < m; ++u) {
      FftLanes tr[P], ti[P];
#pragma GCC unroll 8
      for (int q = 0; q < P; ++q) {
        const long at = static_cast<long>(q * m + u) * kFftLanes;
        // memcpy, not helpers: a function taking or returning a 64-byte vector would have a
        // different calling convention in each clone of the caller.
        __builtin_memcpy(&tr[q], block_re + at, sizeof(FftLanes));
        __builtin_memcpy(&ti[q], block_im + at, sizeof(FftLanes));
        // Twiddle W_(P m)^(q u) = W_n^(blocks q u); 1 for the first point of each transform.
        if (q > 0 && u > 0) {
          const auto twiddle = static_cast<size_t>(stage.blocks * q * u);
          const float c = cos_[twiddle];
          const float s = sin_[twiddle];
          const FftLanes r = tr[q];
          tr[q] = r * c + ti[q] * s;
          ti[q] = ti[q] * c - r * s;
        }
      }
      FftLanes xr[P], xi[P];
      if constexpr (P == 2) {
        xr[0] = tr[0] + tr[1];
        xi[0] = ti[0] + ti[1];
        xr[1] = tr[0] - tr[1];
        xi[1] = ti[0] - ti[1];
      } else if constexpr (P == 4) {
        // W_4 = -i: X1 = (t0 - t2) - i (t1 - t3), X3 = (t0 - t2) + i (t1 - t3).
        const FftLanes sum02r = tr[0] + tr[2], sum02i = ti[0] + ti[2];
        const FftLanes sum13r = tr[1] + tr[3], sum13i = ti[1] + ti[3];
        const FftLanes diff02r = tr[0] - tr[2], diff02i = ti[0] - ti[2];
        const FftLanes diff13r = tr[1] - tr[3], diff13i = ti[1] - ti[3];
        xr[0] = sum02r + sum13r;
        xi[0] = sum02i + sum13i;
        xr[2] = sum02r - sum13r;
        xi[2] = sum02i - sum13i;
        xr[1] = diff02r + diff13i;
        xi[1] = diff02i - diff13r;
        xr[3] = diff02r - diff13i;
        xi[3] = diff02i + diff13r;
      } else {
#pragma GCC unroll 8
        for (int v = 0; v < P; ++v) {
          FftLanes sr = tr[0], si = ti[0];
#pragma GCC unroll 8
          for (int q = 1; q < P; ++q) {
            const int r = q * v % P;
            sr += tr[q] * root_cos[r] + ti[q] * root_sin[r];
            si += ti[q] * root_cos[r] - tr[q] * root_sin[r];
          }
          xr[v] = sr;
          xi[v] = si;
        }
      }
#pragma GCC unroll 8
      for (int v = 0; v < P; ++v) {
        const long at = static_cast<long>(u + m * v) * kFftLanes;
        __builtin_memcpy(block_re + at, &xr[v], sizeof(FftLanes));
        __builtin_memcpy(block_im + at, &xi[v], sizeof(FftLanes));
      }
    }
  }
}

void LaneFft::Transform(float* re, float* im) const {
  for (const Stage& stage : stages_) {
    switch (stage.radix) {
      case 2:
        Pass<2>(stage, re, im);
        break;
      case 3:
        Pass<3>(stage, re, im);
        break;
      case 4:
        Pass<4>(stage, re, im);
        break;
      case 5:
        Pass<5>(stage, re, im);
        break;
      default:
        Pass<7>(stage, re, im);
        break;
    }
  }
}

}  // namespace dd::critic
