#include "common/sampler/local_critic_scorer.h"

#include "common/critic/critic_config.h"
#include "common/render/steady_clip.h"

namespace dd {

absl::StatusOr<std::vector<double>> LocalCriticScorer::Score(absl::Span<const Pattern> patterns) {
  if (patterns.empty()) return std::vector<double>{};
  clips_.resize(patterns.size() * static_cast<size_t>(critic::kClipFrames));
  RenderedAudio bar;
  for (size_t i = 0; i < patterns.size(); ++i) {
    absl::Status rendered = RenderSteadyClipInto(
        renderer_, patterns[i], clips_.data() + i * critic::kClipFrames, critic::kClipFrames, bar);
    if (!rendered.ok()) return rendered;
  }
  const std::vector<float> probabilities =
      critic_.Score(clips_.data(), static_cast<int64_t>(patterns.size()));
  return std::vector<double>(probabilities.begin(), probabilities.end());
}

}  // namespace dd
