#include "common/render/renderer.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/audio/audio_constants.h"
#include "common/render/mix_kernels.h"

namespace dd {
namespace {

// Calls mix(start_frame, sample_pcm, gain) for every hit of the first `bars` bars, start_frame
// counted from the start of the first bar. The one walk over the grid all render paths share.
template <typename MixHit>
void ForEachHit(const Pattern& pattern, const std::vector<const Sample*>& samples, float mix_gain,
                int bars, MixHit&& mix) {
  const int64_t steps = pattern.steps();
  for (int64_t n = 0; n < steps * bars; ++n) {
    const int step = static_cast<int>(n % steps);
    const int64_t start = StepStartFrame(n, pattern.bpm());
    for (int t = 0; t < pattern.num_tracks(); ++t) {
      const float velocity = pattern.velocity(t, step);
      if (velocity <= 0.0f) continue;
      mix(start, samples[static_cast<size_t>(t)]->pcm, mix_gain * velocity);
    }
  }
}

// The hits of the first `bars` bars as segments cut to end before `limit`.
std::vector<mix::Segment>& HitSegments(const Pattern& pattern,
                                       const std::vector<const Sample*>& samples, float mix_gain,
                                       int bars, int64_t limit) {
  thread_local std::vector<mix::Segment> segments;
  segments.clear();
  ForEachHit(pattern, samples, mix_gain, bars,
             [&](int64_t start, const std::vector<float>& sample, float gain) {
               const int64_t count =
                   std::min<int64_t>(static_cast<int64_t>(sample.size()), limit - start);
               if (count > 0) segments.push_back({start, sample.data(), count, gain});
             });
  return segments;
}

int64_t ApplyPeakPolicy(std::vector<float>& pcm, PeakPolicy policy) {
  if (policy == PeakPolicy::kClip) {
    return mix::ClipInPlace(pcm.data(), static_cast<int64_t>(pcm.size()));
  }
  int64_t clipped = 0;
  float peak = 0.0f;
  for (float x : pcm) {
    const float magnitude = std::fabs(x);
    clipped += magnitude > 1.0f ? 1 : 0;
    peak = std::max(peak, magnitude);
  }
  if (clipped == 0) return 0;
  const float scale = 1.0f / peak;
  for (float& x : pcm)
    x *= scale;
  return clipped;
}

// True when every bar starts exactly r * BarFrames() (e.g. 120 bpm: 88200 frames), so all bars
// are sample-identical copies of one and the loop can be built from a single bar's mix.
bool HasWholeBars(int steps, double bpm, int repeats) {
  const int64_t bar = BarFrames(steps, bpm);
  for (int r = 0; r < repeats; ++r) {
    for (int k = 0; k < steps; ++k) {
      if (StepStartFrame(static_cast<int64_t>(r) * steps + k, bpm) !=
          r * bar + StepStartFrame(k, bpm)) {
        return false;
      }
    }
  }
  return true;
}

// Writes a loop of `repeats` whole bars and a tail from the mix of one bar's hits, `chunks` bars
// long (as far as its longest sample rings): bar r is chunk 0 + ... + chunk r (every chunk once r
// passes the last) and the tail is chunks 1..repeats. Works in bar-offset blocks whose running sum
// stays in L1, so each output frame is written once, clipped on the way when `clip` is set.
// Returns the frames beyond full scale when clipping.
int64_t AssembleLoop(const float* chunk, int64_t chunks, int64_t bar, int repeats, int64_t tail,
                     bool clip, float* out) {
  int64_t clipped = 0;
  auto write = [&](float* to, const float* from, int64_t count) {
    if (clip) {
      clipped += mix::CopyClipped(to, from, count);
    } else {
      std::copy(from, from + count, to);
    }
  };
  alignas(64) float sum[mix::kBlockFrames];
  for (int64_t offset = 0; offset < bar; offset += mix::kBlockFrames) {
    const int64_t count = std::min(mix::kBlockFrames, bar - offset);
    std::copy(chunk + offset, chunk + offset + count, sum);
    write(out + offset, sum, count);
    for (int r = 1; r < repeats; ++r) {
      if (r < chunks) mix::AddInto(sum, chunk + r * bar + offset, count);
      write(out + r * bar + offset, sum, count);
    }
  }
  const int64_t mixed = chunks * bar;
  float* const tail_out = out + static_cast<int64_t>(repeats) * bar;
  for (int64_t offset = 0; offset < tail; offset += mix::kBlockFrames) {
    const int64_t count = std::min(mix::kBlockFrames, tail - offset);
    std::fill(sum, sum + count, 0.0f);
    for (int64_t j = 1; j <= repeats; ++j) {
      const int64_t source = j * bar + offset;
      if (source >= mixed) break;
      mix::AddInto(sum, chunk + source, std::min(count, mixed - source));
    }
    write(tail_out + offset, sum, count);
  }
  return clipped;
}

// Mixes the hits of one bar once and builds the loop from it: every sample frame is read once
// per render instead of once per repeat.
int64_t RenderRepeatedBar(const Pattern& pattern, const std::vector<const Sample*>& samples,
                          const RenderOptions& options, int64_t total, std::vector<float>& pcm) {
  const int64_t bar = BarFrames(pattern.steps(), pattern.bpm());
  int64_t ring = 0;
  for (int t = 0; t < pattern.num_tracks(); ++t) {
    ring =
        std::max<int64_t>(ring, static_cast<int64_t>(samples[static_cast<size_t>(t)]->pcm.size()));
  }
  const int64_t chunks = (bar + ring + bar - 1) / bar;
  thread_local std::vector<float> one_bar;
  one_bar.assign(static_cast<size_t>(chunks * bar), 0.0f);
  mix::MixSegments(HitSegments(pattern, samples, options.mix_gain, 1, chunks * bar), one_bar.data(),
                   chunks * bar);
  pcm.resize(static_cast<size_t>(total));
  const bool clip = options.peak_policy == PeakPolicy::kClip;
  const int64_t clipped = AssembleLoop(one_bar.data(), chunks, bar, options.repeats,
                                       total - options.repeats * bar, clip, pcm.data());
  return clip ? clipped : ApplyPeakPolicy(pcm, options.peak_policy);
}

}  // namespace

int64_t StepStartFrame(int64_t step_index, double bpm) {
  // 60 * 44100 / 4 frames per step at 1 bpm; the small epsilon keeps exact products such as
  // 5512.5 * 2 from landing just below an integer through rounding.
  const double frames = static_cast<double>(step_index) * (60.0 * kSampleRate / 4.0) / bpm;
  return static_cast<int64_t>(std::floor(frames + 1e-7));
}

int64_t BarFrames(int steps, double bpm) {
  return StepStartFrame(steps, bpm);
}

absl::Status ValidateRenderOptions(const RenderOptions& options) {
  if (options.repeats < 1 || options.repeats > 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("repeats must be in [1, 16], got ", options.repeats));
  }
  if (!std::isfinite(options.tail_seconds) || options.tail_seconds < 0.0 ||
      options.tail_seconds > 10.0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tail_seconds must be in [0, 10], got %g", options.tail_seconds));
  }
  if (!std::isfinite(options.mix_gain) || options.mix_gain < 0.0f || options.mix_gain > 4.0f) {
    return absl::InvalidArgumentError(
        absl::StrFormat("mix_gain must be in [0, 4], got %g", options.mix_gain));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<const Sample*>> Renderer::ResolveSamples(const Pattern& pattern) const {
  std::vector<const Sample*> samples(static_cast<size_t>(pattern.num_tracks()));
  for (int t = 0; t < pattern.num_tracks(); ++t) {
    const std::string& id = pattern.track(t).sample_id;
    samples[static_cast<size_t>(t)] = library_->Find(id);
    if (samples[static_cast<size_t>(t)] == nullptr) {
      return absl::NotFoundError(absl::StrCat("track ", t, ": unknown sample id '", id, "'"));
    }
  }
  return samples;
}

absl::StatusOr<RenderedAudio> Renderer::Render(const Pattern& pattern,
                                               const RenderOptions& options) const {
  RenderedAudio out;
  if (absl::Status s = RenderInto(pattern, options, out); !s.ok()) return s;
  return out;
}

absl::Status Renderer::RenderInto(const Pattern& pattern, const RenderOptions& options,
                                  RenderedAudio& out) const {
  if (absl::Status s = ValidateRenderOptions(options); !s.ok()) return s;
  absl::StatusOr<std::vector<const Sample*>> samples = ResolveSamples(pattern);
  if (!samples.ok()) return samples.status();

  const int64_t steps = pattern.steps();
  const int64_t body = StepStartFrame(steps * options.repeats, pattern.bpm());
  const auto tail = static_cast<int64_t>(std::llround(options.tail_seconds * kSampleRate));
  const int64_t total = body + tail;
  if (HasWholeBars(pattern.steps(), pattern.bpm(), options.repeats)) {
    out.clipped_samples = RenderRepeatedBar(pattern, *samples, options, total, out.pcm);
    return absl::OkStatus();
  }
  out.pcm.assign(static_cast<size_t>(total), 0.0f);
  mix::MixSegments(HitSegments(pattern, *samples, options.mix_gain, options.repeats, total),
                   out.pcm.data(), total);
  out.clipped_samples = ApplyPeakPolicy(out.pcm, options.peak_policy);
  return absl::OkStatus();
}

absl::StatusOr<RenderedAudio> Renderer::RenderSteadyBar(const Pattern& pattern,
                                                        const RenderOptions& options) const {
  RenderedAudio out;
  if (absl::Status s = RenderSteadyBarInto(pattern, options, out); !s.ok()) return s;
  return out;
}

absl::Status Renderer::RenderSteadyBarInto(const Pattern& pattern, const RenderOptions& options,
                                           RenderedAudio& out) const {
  if (absl::Status s = ValidateRenderOptions(options); !s.ok()) return s;
  absl::StatusOr<std::vector<const Sample*>> samples = ResolveSamples(pattern);
  if (!samples.ok()) return samples.status();

  const int64_t bar = BarFrames(pattern.steps(), pattern.bpm());
  thread_local std::vector<mix::Segment> segments;
  segments.clear();
  ForEachHit(pattern, *samples, options.mix_gain, 1,
             [&](int64_t start, const std::vector<float>& sample, float gain) {
               // Lay the sample down from its step, wrapping at the bar's end as often as it rings.
               const auto length = static_cast<int64_t>(sample.size());
               int64_t position = start;
               for (int64_t offset = 0; offset < length; position = 0) {
                 const int64_t count = std::min(length - offset, bar - position);
                 segments.push_back({position, sample.data() + offset, count, gain});
                 offset += count;
               }
             });
  out.pcm.assign(static_cast<size_t>(bar), 0.0f);
  mix::MixSegments(segments, out.pcm.data(), bar);
  out.clipped_samples = ApplyPeakPolicy(out.pcm, options.peak_policy);
  return absl::OkStatus();
}

}  // namespace dd
