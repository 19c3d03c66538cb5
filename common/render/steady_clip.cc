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
  absl::Status rendered = renderer.RenderSteadyBarInto(pattern, options, bar);
  if (!rendered.ok()) return rendered;
  const std::vector<float>& one_bar = bar.pcm;
  if (one_bar.empty()) return absl::InternalError("steady bar rendered empty");
  for (int64_t filled = 0; filled < frames;) {
    const int64_t take = std::min(static_cast<int64_t>(one_bar.size()), frames - filled);
    std::copy_n(one_bar.begin(), take, out + filled);
    filled += take;
  }
  return absl::OkStatus();
}

}  // namespace dd
