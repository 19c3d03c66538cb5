#include "common/critic/cpu_mel_spectrogram.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace dd::critic {

namespace internal {

// The frames [first, first + lanes) of one clip (lanes <= kFftLanes; idle lanes repeat the last
// frame and are not written); `out` is frame first's row of n_mels floats.
void MelPowerOfFrames(const CpuMelSpectrogram::Plan& plan, const float* clip, int64_t frames,
                      int64_t first, int lanes, float* scratch, float* out);

}  // namespace internal

namespace {

constexpr int kLanes = kFftLanes;

// The parts of a scratch buffer, in floats: the transform's real and imaginary halves, the power
// spectrum and the mel bands, each kLanes wide.
struct ScratchLayout {
  int64_t re, im, power, mel, total;
};

ScratchLayout LayoutFor(const CpuMelSpectrogram::Plan& plan) {
  const int64_t half = plan.n_fft / 2;
  ScratchLayout layout{};
  layout.re = 0;
  layout.im = layout.re + half * kLanes;
  layout.power = layout.im + half * kLanes;
  layout.mel = layout.power + (half + 1) * kLanes;
  layout.total = layout.mel + static_cast<int64_t>(plan.n_mels) * kLanes;
  return layout;
}

[[gnu::always_inline]] inline FftLanes LoadLanes(const float* from) {
  FftLanes v;
  __builtin_memcpy(&v, from, sizeof v);
  return v;
}

[[gnu::always_inline]] inline void StoreLanes(float* to, FftLanes v) {
  __builtin_memcpy(to, &v, sizeof v);
}

// Lane j of the result: lane j of `a` where bit S of j is clear (the low half of each 2S-wide
// block), else lane j - S of `b`; and the other way round for the partner row.
template <int S, size_t... J>
[[gnu::always_inline]] inline FftLanes LowBlocks(FftLanes a, FftLanes b,
                                                 std::index_sequence<J...>) {
  return __builtin_shufflevector(a, b, ((J & S) == 0 ? J : kLanes + J - S)...);
}
template <int S, size_t... J>
[[gnu::always_inline]] inline FftLanes HighBlocks(FftLanes a, FftLanes b,
                                                  std::index_sequence<J...>) {
  return __builtin_shufflevector(a, b, ((J & S) == 0 ? J + S : kLanes + J)...);
}

// Exchanges the off-diagonal S x S blocks of every 2S x 2S block.
template <int S>
[[gnu::always_inline]] inline void SwapBlocks(FftLanes (&rows)[kLanes]) {
  for (int i = 0; i < kLanes; ++i) {
    if ((i & S) != 0) continue;
    const FftLanes a = rows[i], b = rows[i + S];
    rows[i] = LowBlocks<S>(a, b, std::make_index_sequence<kLanes>());
    rows[i + S] = HighBlocks<S>(a, b, std::make_index_sequence<kLanes>());
  }
}

// rows[i][j] becomes rows[j][i]: each step swaps one bit between the row and the lane index.
[[gnu::always_inline]] inline void Transpose(FftLanes (&rows)[kLanes]) {
  SwapBlocks<8>(rows);
  SwapBlocks<4>(rows);
  SwapBlocks<2>(rows);
  SwapBlocks<1>(rows);
}

}  // namespace

// Plain vector code; target_clones compiles AVX-512 and AVX2 versions beside the baseline and
// picks one at load time. Built without FMA contraction (CMakeLists.txt), so every version gives
// the same bits.
__attribute__((target_clones("avx512f", "avx2", "default"))) void internal::MelPowerOfFrames(
    const CpuMelSpectrogram::Plan& plan, const float* clip, int64_t frames, int64_t first,
    int lanes, float* scratch, float* out) {
  const int half = plan.n_fft / 2;
  const ScratchLayout layout = LayoutFor(plan);
  float* re = scratch + layout.re;
  float* im = scratch + layout.im;
  float* power = scratch + layout.power;
  float* mel = scratch + layout.mel;
  const float* window = plan.window.data();

  // Windowed frames, packed as z[j] = x[2j] + i x[2j+1], each z[j] in its slot of the transform's
  // input order.
  const int* slot_of = plan.slot_of_pair.data();
  const auto lane_start = [&](int lane) {  // The frame's first sample: frames are centred.
    return (first + std::min(lane, lanes - 1)) * plan.hop_length - half;
  };
  // Where sample n of every frame goes: its lanes in the real or imaginary part of its slot.
  const auto lanes_of = [&](int n) {
    return (n % 2 == 0 ? re : im) + static_cast<int64_t>(slot_of[n / 2]) * kLanes;
  };
  const auto put = [&](int n, int lane, float value) { lanes_of(n)[lane] = value; };
  int transposed = 0;  // Samples [0, transposed) of every frame are in place.
  if (lanes == kLanes && lane_start(0) >= 0 && lane_start(kLanes - 1) + plan.n_fft <= frames) {
    // No frame reaches into the padding: sixteen samples of each frame at a time, turned from
    // rows into lanes in registers. (Storing sample by sample into lanes, each store to another
    // cache line, took a third of the whole kernel.)
    transposed = plan.n_fft / kLanes * kLanes;
    for (int n0 = 0; n0 < transposed; n0 += kLanes) {
      FftLanes rows[kLanes];
      for (int lane = 0; lane < kLanes; ++lane)
        __builtin_memcpy(&rows[lane], clip + lane_start(lane) + n0, sizeof(FftLanes));
      Transpose(rows);
      for (int i = 0; i < kLanes; ++i) {
        const int n = n0 + i;
        const FftLanes windowed = rows[i] * window[n];
        __builtin_memcpy(lanes_of(n), &windowed, sizeof windowed);
      }
    }
  }
  for (int lane = 0; lane < kLanes; ++lane) {
    const int64_t start = lane_start(lane);
    if (start >= 0 && start + plan.n_fft <= frames) {
      for (int n = transposed; n < plan.n_fft; ++n)
        put(n, lane, clip[start + n] * window[n]);
    } else {
      // The frame reaches into the reflect padding: sample -q for q < 0, and 2 (frames - 1) - q
      // past the end, as torch's reflect pad (the edge sample not repeated).
      for (int n = transposed; n < plan.n_fft; ++n) {
        int64_t q = start + n;
        if (q < 0) q = -q;
        if (q >= frames) q = 2 * (frames - 1) - q;
        put(n, lane, clip[q] * window[n]);
      }
    }
  }

  plan.fft.Transform(re, im);

  // Unpack the real frame's spectrum from the packed one: with A = Z[k] and B = Z[half - k]
  // (indices mod half), the even samples' spectrum is E = (A + conj B) / 2, the odd ones'
  // O = -i (A - conj B) / 2, and X[k] = E + exp(-2 pi i k / n_fft) O.
  for (int k = 0; k <= half; ++k) {
    const int a = k % half, b = (half - k) % half;
    const FftLanes ar = LoadLanes(re + a * kLanes), ai = LoadLanes(im + a * kLanes);
    const FftLanes br = LoadLanes(re + b * kLanes), bi = LoadLanes(im + b * kLanes);
    const FftLanes even_r = (ar + br) * 0.5f, even_i = (ai - bi) * 0.5f;
    const FftLanes odd_r = (ai + bi) * 0.5f, odd_i = (br - ar) * 0.5f;
    const float c = plan.unpack_cos[static_cast<size_t>(k)];
    const float s = plan.unpack_sin[static_cast<size_t>(k)];
    const FftLanes xr = even_r + (odd_r * c + odd_i * s);
    const FftLanes xi = even_i + (odd_i * c - odd_r * s);
    StoreLanes(power + k * kLanes, xr * xr + xi * xi);
  }

  for (int band = 0; band < plan.n_mels; ++band) {
    const float* weights = plan.band_weights.data() + plan.band_offset[static_cast<size_t>(band)];
    const float* bins =
        power + static_cast<int64_t>(plan.band_first[static_cast<size_t>(band)]) * kLanes;
    FftLanes sum = {};
    for (int i = 0; i < plan.band_size[static_cast<size_t>(band)]; ++i)
      sum += LoadLanes(bins + i * kLanes) * weights[i];
    StoreLanes(mel + band * kLanes, sum);
  }

  for (int lane = 0; lane < lanes; ++lane) {
    float* row = out + static_cast<int64_t>(lane) * plan.n_mels;
    for (int band = 0; band < plan.n_mels; ++band)
      row[band] = mel[band * kLanes + lane];
  }
}

std::optional<CpuMelSpectrogram> CpuMelSpectrogram::Create(int n_fft, int hop_length,
                                                           const torch::Tensor& window,
                                                           const torch::Tensor& mel_bank) {
  if (n_fft < 2 || n_fft % 2 != 0 || hop_length < 1) return std::nullopt;
  std::optional<LaneFft> fft = LaneFft::Create(n_fft / 2);
  if (!fft) return std::nullopt;
  const int n_freqs = n_fft / 2 + 1;
  if (window.numel() != n_fft || mel_bank.dim() != 2 || mel_bank.size(0) != n_freqs) {
    return std::nullopt;
  }

  Plan plan;
  plan.n_fft = n_fft;
  plan.hop_length = hop_length;
  plan.n_mels = static_cast<int>(mel_bank.size(1));
  plan.fft = std::move(*fft);
  plan.slot_of_pair.resize(static_cast<size_t>(n_fft / 2));
  for (int slot = 0; slot < n_fft / 2; ++slot)
    plan.slot_of_pair[static_cast<size_t>(plan.fft.input_order()[static_cast<size_t>(slot)])] =
        slot;
  const torch::Tensor window_values = window.to(torch::kCPU, torch::kFloat32).contiguous();
  plan.window.assign(window_values.data_ptr<float>(), window_values.data_ptr<float>() + n_fft);
  for (int k = 0; k < n_freqs; ++k) {
    const double angle = 2.0 * std::numbers::pi * k / n_fft;
    plan.unpack_cos.push_back(static_cast<float>(std::cos(angle)));
    plan.unpack_sin.push_back(static_cast<float>(std::sin(angle)));
  }
  // Each band keeps the bins from its first to its last nonzero weight.
  const torch::Tensor bank = mel_bank.to(torch::kCPU, torch::kFloat32).contiguous();
  const auto weights = bank.accessor<float, 2>();
  for (int band = 0; band < plan.n_mels; ++band) {
    int first = n_freqs, last = -1;
    for (int k = 0; k < n_freqs; ++k) {
      if (weights[k][band] != 0.0f) {
        first = std::min(first, k);
        last = k;
      }
    }
    if (last < 0) first = 0;
    plan.band_first.push_back(first);
    plan.band_size.push_back(last < 0 ? 0 : last - first + 1);
    plan.band_offset.push_back(static_cast<int>(plan.band_weights.size()));
    for (int k = first; k <= last; ++k)
      plan.band_weights.push_back(weights[k][band]);
  }
  return CpuMelSpectrogram(std::move(plan));
}

bool CpuMelSpectrogram::Accepts(const torch::Tensor& audio) const {
  return audio.is_cpu() && audio.scalar_type() == torch::kFloat32 && audio.dim() == 2 &&
         !audio.requires_grad() && audio.size(1) > plan_.n_fft / 2;
}

torch::Tensor CpuMelSpectrogram::Compute(const torch::Tensor& audio) const {
  const torch::Tensor clips = audio.contiguous();
  const int64_t batch = clips.size(0), frames = clips.size(1);
  const int64_t time = 1 + frames / plan_.hop_length;
  const int64_t groups = (time + kLanes - 1) / kLanes;
  torch::Tensor mel = torch::empty({batch, time, plan_.n_mels}, clips.options());
  const float* in = clips.data_ptr<float>();
  float* out = mel.data_ptr<float>();
  const int64_t scratch_floats = LayoutFor(plan_).total;
  // A unit of sixteen frames is ~47 KB of scratch (n_fft 400) and ~3 us of work.
  at::parallel_for(0, batch * groups, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch(static_cast<size_t>(scratch_floats));
    for (int64_t unit = begin; unit < end; ++unit) {
      const int64_t clip = unit / groups;
      const int64_t first = unit % groups * kLanes;
      const int lanes = static_cast<int>(std::min<int64_t>(kLanes, time - first));
      internal::MelPowerOfFrames(plan_, in + clip * frames, frames, first, lanes, scratch.data(),
                                 out + (clip * time + first) * plan_.n_mels);
    }
  });
  return mel;
}

}  // namespace dd::critic
