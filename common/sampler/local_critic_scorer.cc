#include "common/sampler/local_critic_scorer.h"

#include <algorithm>

#include "common/critic/critic_config.h"
#include "common/render/steady_clip.h"

namespace dd {

absl::StatusOr<std::vector<double>> LocalCriticScorer::Score(absl::Span<const Pattern> patterns) {
  if (patterns.empty()) return std::vector<double>{};
  clips_.resize(patterns.size() * static_cast<size_t>(critic::kClipFrames));
  for (size_t i = 0; i < patterns.size(); ++i) {
    absl::StatusOr<std::vector<float>> clip =
        RenderSteadyClip(renderer_, patterns[i], critic::kClipFrames);
    if (!clip.ok()) return clip.status();
    std::copy(clip->begin(), clip->end(),
              clips_.begin() + static_cast<std::ptrdiff_t>(i * clip->size()));
  }
  const std::vector<float> probabilities =
      critic_.Score(clips_.data(), static_cast<int64_t>(patterns.size()));
  return std::vector<double>(probabilities.begin(), probabilities.end());
}

}  // namespace dd
