#include "common/render/steady_clip.h"

#include <algorithm>

namespace dd {

absl::StatusOr<std::vector<float>> RenderSteadyClip(const Renderer& renderer,
                                                    const Pattern& pattern, int64_t frames) {
  if (frames <= 0) return absl::InvalidArgumentError("clip length must be positive");
  RenderOptions options;
  options.repeats = 1;
  options.tail_seconds = 0;
  auto bar = renderer.RenderSteadyBar(pattern, options);
  if (!bar.ok()) return bar.status();
  const std::vector<float>& one_bar = bar->pcm;
  if (one_bar.empty()) return absl::InternalError("steady bar rendered empty");
  std::vector<float> clip(static_cast<size_t>(frames));
  for (size_t filled = 0; filled < clip.size();) {
    const size_t take = std::min(one_bar.size(), clip.size() - filled);
    std::copy_n(one_bar.begin(), take, clip.begin() + static_cast<std::ptrdiff_t>(filled));
    filled += take;
  }
  return clip;
}

}  // namespace dd
