#include "common/render/steady_clip.h"

#include <algorithm>

namespace dd {

absl::StatusOr<std::vector<float>> RenderSteadyClip(const Renderer& renderer,
                                                    const Pattern& pattern, int64_t frames) {
  if (frames <= 0) return absl::InvalidArgumentError("clip length must be positive");
  std::vector<float> clip(static_cast<size_t>(frames));
  RenderedAudio bar;
  absl::Status rendered = RenderSteadyClipInto(renderer, pattern, clip.data(), frames, bar);
  if (!rendered.ok()) return rendered;
  return clip;
}

absl::Status RenderSteadyClipInto(const Renderer& renderer, const Pattern& pattern, float* out,
                                  int64_t frames, RenderedAudio& bar) {
  if (frames <= 0) return absl::InvalidArgumentError("clip length must be positive");
  RenderOptions options;
  options.repeats = 1;
  options.tail_seconds = 0;
  const int64_t bar_frames = BarFrames(pattern.steps(), pattern.bpm());
  if (bar_frames <= 0) return absl::InternalError("steady bar rendered empty");
  const float* one_bar = out;
  if (bar_frames <= frames) {
    // Straight into the clip (the default loop's bar is the clip): one write of the bar.
    absl::StatusOr<int64_t> rendered = renderer.RenderSteadyBarTo(pattern, options, out);
    if (!rendered.ok()) return rendered.status();
  } else {
    absl::Status rendered = renderer.RenderSteadyBarInto(pattern, options, bar);
    if (!rendered.ok()) return rendered;
    one_bar = bar.pcm.data();
  }
  for (int64_t filled = one_bar == out ? bar_frames : 0; filled < frames;) {
    const int64_t take = std::min(bar_frames, frames - filled);
    std::copy_n(one_bar, take, out + filled);
    filled += take;
  }
  return absl::OkStatus();
}

}  // namespace dd
