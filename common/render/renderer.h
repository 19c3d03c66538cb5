// Renders a pattern over a sample library into mono float audio at 44.1 kHz, as the paper's
// renderer: sixteenth-note steps at the loop's tempo, every hit's sample added at gain
// mix_gain * velocity, the bar played `repeats` times, then a tail for the last hits to ring out.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/pattern/pattern.h"
#include "common/pattern/timing.h"
#include "common/render/helper_team.h"
#include "common/samples/sample_library.h"

namespace dd {

// What happens to mixed samples beyond full scale. Hits add up, so a loud kit can exceed [-1, 1].
enum class PeakPolicy {
  // Clip each sample to [-1, 1] (what a 16-bit encoder would do anyway), so the float audio the
  // critic hears and the file the listener hears are the same signal. The default.
  kClip,
  // Scale the whole clip down so that its peak is exactly 1 when it exceeds 1; keeps the shape of
  // the waveform at the cost of a level that depends on the loudest moment.
  kNormalize,
};

struct RenderOptions {
  int repeats = 4;            // Times the bar is played. [1, 16]
  double tail_seconds = 1.0;  // Silence-padded tail after the last bar. [0, 10]
  float mix_gain = 0.5f;      // Gain applied to every hit, as the original.
  PeakPolicy peak_policy = PeakPolicy::kClip;
};

struct RenderedAudio {
  std::vector<float> pcm;       // Mono, 44.1 kHz.
  int64_t clipped_samples = 0;  // Samples that exceeded full scale (before the peak policy).
};

// The same loop as 16-bit PCM, the samples a WAV or FLAC file holds.
struct RenderedPcm16 {
  std::vector<int16_t> pcm;     // Mono, 44.1 kHz: FloatToPcm16 of the float render.
  int64_t clipped_samples = 0;  // As RenderedAudio's.
};

class Renderer {
 public:
  // With `helpers`, a render whose bars are whole frames (every tempo whose bar is an integer
  // number of frames, 120 bpm included) shares its mixing with those of them that are idle.
  explicit Renderer(std::shared_ptr<const SampleLibrary> library,
                    std::shared_ptr<HelperTeam> helpers = nullptr)
      : library_(std::move(library)), helpers_(std::move(helpers)) {}

  // What Render would refuse, without rendering: OK when it would render the loop.
  absl::Status Check(const Pattern& pattern, const RenderOptions& options) const;
  // The loop as a listener hears it: repeats bars plus the tail.
  // NOT_FOUND for a sample id not in the library; INVALID_ARGUMENT for options out of range.
  absl::StatusOr<RenderedAudio> Render(const Pattern& pattern, const RenderOptions& options) const;
  // The same into a caller-owned buffer, so hot loops (benchmarks, batch scoring) reuse memory.
  absl::Status RenderInto(const Pattern& pattern, const RenderOptions& options,
                          RenderedAudio& out) const;
  // The loop as 16-bit PCM, sample for sample FloatToPcm16 of RenderInto's, for the encoders.
  // With the default peak policy it is converted block by block straight from the mix, so the
  // float clip (twice the bytes) is never written and read back.
  absl::Status RenderPcm16Into(const Pattern& pattern, const RenderOptions& options,
                               RenderedPcm16& out) const;

  // The steady-state bar the critic hears: one bar in which the parts of every hit that ring past
  // the bar's end are wrapped around to its start, as they would sound in the middle of an
  // endless loop. BarFrames(steps, bpm) frames.
  absl::StatusOr<RenderedAudio> RenderSteadyBar(const Pattern& pattern,
                                                const RenderOptions& options = {}) const;
  absl::Status RenderSteadyBarInto(const Pattern& pattern, const RenderOptions& options,
                                   RenderedAudio& out) const;
  // The same straight into `out`, which has room for BarFrames(steps, bpm) samples; returns
  // RenderedAudio::clipped_samples.
  absl::StatusOr<int64_t> RenderSteadyBarTo(const Pattern& pattern, const RenderOptions& options,
                                            float* out) const;

  const SampleLibrary& library() const { return *library_; }

 private:
  absl::StatusOr<std::vector<const Sample*>> ResolveSamples(const Pattern& pattern) const;

  std::shared_ptr<const SampleLibrary> library_;
  std::shared_ptr<HelperTeam> helpers_;
};

absl::Status ValidateRenderOptions(const RenderOptions& options);

}  // namespace dd
