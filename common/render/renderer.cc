#include "common/render/renderer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/audio/audio_constants.h"
#include "common/audio/pcm16.h"
#include "common/render/folded_bar.h"
#include "common/render/mix_kernels.h"
#include "common/text/exact_number.h"
#include "common/text/quoted.h"

namespace dd {
namespace {

// HitSegments' limit for hits that keep their whole sample.
constexpr int64_t kUncut = std::numeric_limits<int64_t>::max() / 2;

// Every hit of the first `bars` bars as a segment from its step's first frame (counted from the
// start of the first bar), over the sample's 16-bit frames at gain mix_gain * velocity times
// their scale, cut to end before `limit`. The one walk over the grid all render paths share.
std::vector<mix::Segment>& HitSegments(const Pattern& pattern,
                                       const std::vector<const Sample*>& samples, float mix_gain,
                                       int bars, int64_t limit) {
  thread_local std::vector<mix::Segment> segments;
  segments.clear();
  const int64_t steps = pattern.steps();
  for (int64_t n = 0; n < steps * bars; ++n) {
    const int step = static_cast<int>(n % steps);
    const int64_t start = StepStartFrame(n, pattern.bpm());
    for (int t = 0; t < pattern.num_tracks(); ++t) {
      const float velocity = pattern.velocity(t, step);
      if (velocity <= 0.0f) continue;
      const MixPcm& sample = samples[static_cast<size_t>(t)]->mix;
      const int64_t count =
          std::min<int64_t>(static_cast<int64_t>(sample.frames.size()), limit - start);
      if (count > 0) {
        segments.push_back(
            {start, sample.frames.data(), count, mix_gain * velocity * sample.scale});
      }
    }
  }
  return segments;
}

int64_t ApplyPeakPolicy(float* pcm, int64_t frames, PeakPolicy policy) {
  if (policy == PeakPolicy::kClip) return mix::ClipInPlace(pcm, frames);
  int64_t clipped = 0;
  float peak = 0.0f;
  for (int64_t i = 0; i < frames; ++i) {
    const float magnitude = std::fabs(pcm[i]);
    clipped += magnitude > 1.0f ? 1 : 0;
    peak = std::max(peak, magnitude);
  }
  if (clipped == 0) return 0;
  const float scale = 1.0f / peak;
  for (int64_t i = 0; i < frames; ++i)
    pcm[i] *= scale;
  return clipped;
}

int64_t ApplyPeakPolicy(std::vector<float>& pcm, PeakPolicy policy) {
  return ApplyPeakPolicy(pcm.data(), static_cast<int64_t>(pcm.size()), policy);
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

// The clip's bars as outputs of the folded mix (see folded_bar.h), written as float to `pcm` or
// as 16-bit PCM to `pcm16`: bar q of a loop of `repeats` bars hears chunks [q - repeats + 1, q];
// bars from `repeats` on are the tail.
std::vector<mix::FoldedBarOutput> LoopBars(float* pcm, int16_t* pcm16, int64_t total, int64_t bar,
                                           int repeats) {
  std::vector<mix::FoldedBarOutput> bars;
  for (int q = 0; static_cast<int64_t>(q) * bar < total; ++q) {
    mix::FoldedBarOutput output;
    output.frames = std::min(bar, total - q * bar);
    output.first_chunk = q - repeats + 1;
    output.last_chunk = q;
    if (pcm16 != nullptr) {
      output.pcm16 = pcm16 + q * bar;
    } else {
      output.pcm = pcm + q * bar;
    }
    bars.push_back(output);
  }
  return bars;
}

// Frames in a loop of options.repeats bars plus the tail.
int64_t LoopFrames(const Pattern& pattern, const RenderOptions& options) {
  return dd::LoopFrames(pattern.steps(), pattern.bpm(), options.repeats, options.tail_seconds);
}

}  // namespace

absl::Status ValidateRenderOptions(const RenderOptions& options) {
  if (options.repeats < 1 || options.repeats > 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("repeats must be in [1, 16], got ", options.repeats));
  }
  if (!std::isfinite(options.tail_seconds) || options.tail_seconds < 0.0 ||
      options.tail_seconds > 10.0) {
    return absl::InvalidArgumentError(
        absl::StrCat("tail_seconds must be in [0, 10], got ", ExactNumber(options.tail_seconds)));
  }
  if (!std::isfinite(options.mix_gain) || options.mix_gain < 0.0f || options.mix_gain > 4.0f) {
    return absl::InvalidArgumentError(
        absl::StrCat("mix_gain must be in [0, 4], got ", ExactNumber(options.mix_gain)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<const Sample*>> Renderer::ResolveSamples(const Pattern& pattern) const {
  std::vector<const Sample*> samples(static_cast<size_t>(pattern.num_tracks()));
  for (int t = 0; t < pattern.num_tracks(); ++t) {
    const std::string& id = pattern.track(t).sample_id;
    samples[static_cast<size_t>(t)] = library_->Find(id);
    if (samples[static_cast<size_t>(t)] == nullptr) {
      return absl::NotFoundError(absl::StrCat("track ", t, ": unknown sample id ", Quoted(id)));
    }
  }
  return samples;
}

absl::Status Renderer::Check(const Pattern& pattern, const RenderOptions& options) const {
  if (absl::Status s = ValidateRenderOptions(options); !s.ok()) return s;
  return ResolveSamples(pattern).status();
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

  const int64_t total = LoopFrames(pattern, options);
  out.pcm.resize(static_cast<size_t>(total));
  if (HasWholeBars(pattern.steps(), pattern.bpm(), options.repeats)) {
    // Mixes the hits of one bar once and plays the loop from them: every sample frame is read
    // once per render instead of once per repeat, every output frame written once.
    const int64_t bar = BarFrames(pattern.steps(), pattern.bpm());
    const bool clip = options.peak_policy == PeakPolicy::kClip;
    const int64_t clipped = mix::MixFoldedBar(
        HitSegments(pattern, *samples, options.mix_gain, 1, kUncut), bar,
        LoopBars(out.pcm.data(), nullptr, total, bar, options.repeats), clip, helpers_.get());
    out.clipped_samples = clip ? clipped : ApplyPeakPolicy(out.pcm, options.peak_policy);
    return absl::OkStatus();
  }
  std::fill(out.pcm.begin(), out.pcm.end(), 0.0f);
  mix::MixSegments(HitSegments(pattern, *samples, options.mix_gain, options.repeats, total),
                   out.pcm.data(), total);
  out.clipped_samples = ApplyPeakPolicy(out.pcm, options.peak_policy);
  return absl::OkStatus();
}

absl::Status Renderer::RenderPcm16Into(const Pattern& pattern, const RenderOptions& options,
                                       RenderedPcm16& out) const {
  // First: HasWholeBars walks every step of every repeat.
  if (absl::Status s = ValidateRenderOptions(options); !s.ok()) return s;
  if (options.peak_policy != PeakPolicy::kClip ||
      !HasWholeBars(pattern.steps(), pattern.bpm(), options.repeats)) {
    // Normalising needs the whole clip's peak before any sample is final, and tempos whose bars
    // are not whole frames have no folded mix: render float, then convert.
    RenderedAudio audio;
    if (absl::Status s = RenderInto(pattern, options, audio); !s.ok()) return s;
    out.pcm.resize(audio.pcm.size());
    FloatToPcm16(audio.pcm.data(), out.pcm.data(), static_cast<int64_t>(audio.pcm.size()));
    out.clipped_samples = audio.clipped_samples;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<const Sample*>> samples = ResolveSamples(pattern);
  if (!samples.ok()) return samples.status();
  const int64_t total = LoopFrames(pattern, options);
  const int64_t bar = BarFrames(pattern.steps(), pattern.bpm());
  out.pcm.resize(static_cast<size_t>(total));
  out.clipped_samples =
      mix::MixFoldedBar(HitSegments(pattern, *samples, options.mix_gain, 1, kUncut), bar,
                        LoopBars(nullptr, out.pcm.data(), total, bar, options.repeats),
                        /*clip=*/true, helpers_.get());
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
  out.pcm.resize(static_cast<size_t>(BarFrames(pattern.steps(), pattern.bpm())));
  absl::StatusOr<int64_t> clipped = RenderSteadyBarTo(pattern, options, out.pcm.data());
  if (!clipped.ok()) return clipped.status();
  out.clipped_samples = *clipped;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Renderer::RenderSteadyBarTo(const Pattern& pattern,
                                                    const RenderOptions& options,
                                                    float* out) const {
  if (absl::Status s = ValidateRenderOptions(options); !s.ok()) return s;
  absl::StatusOr<std::vector<const Sample*>> samples = ResolveSamples(pattern);
  if (!samples.ok()) return samples.status();

  const int64_t bar = BarFrames(pattern.steps(), pattern.bpm());
  // Every chunk at once: the bar's hits with all their tails wrapped in.
  const bool clip = options.peak_policy == PeakPolicy::kClip;
  const int64_t clipped =
      mix::MixFoldedBar(HitSegments(pattern, *samples, options.mix_gain, 1, kUncut), bar,
                        {{out, bar, 0, std::numeric_limits<int>::max()}}, clip, helpers_.get());
  return clip ? clipped : ApplyPeakPolicy(out, bar, options.peak_policy);
}

}  // namespace dd
