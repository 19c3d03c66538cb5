// What the in-process critic evaluations share (taste_eval.cc, protocol_eval.cc): loops as a
// simulated listener hears them, critic recipes from the command line, and a scorer that runs an
// ensemble of critics behind the samplers' interface.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/critic/critic.h"
#include "common/listeners/listener.h"
#include "common/pattern/generation.h"
#include "common/render/renderer.h"
#include "common/sampler/pattern_scorer.h"

namespace dd::eval {

// A sample folder ready to make loops from: a renderer over it and a generator that draws from
// every sample, with the services' default generation options.
struct Kit {
  std::string folder;
  Renderer renderer;
  PatternGenerator generator;
};

// `folder`, or the default kit when empty; nullopt (after printing why) when it has no usable
// sample.
std::optional<Kit> LoadKit(std::string folder);

struct HeardClip {
  std::vector<float> clip;  // What the critic hears: the steady-state clip.
  listeners::HeardLoop heard;
};

// The pattern as the critic and a listener hear it; nullopt when it cannot be rendered or measured.
std::optional<HeardClip> Hear(const Renderer& renderer, const Pattern& pattern);

// `count` uniformly random loops, heard.
std::vector<HeardClip> RandomClips(const Renderer& renderer, const PatternGenerator& generator,
                                   int count, Rng& rng);

struct Recipe {
  critic::CriticConfig config;
  critic::TrainingPrecision precision = critic::TrainingPrecision::kFloat32;
};

// "paper" or "rhythm", then "@" Adam rate, then (rhythm) "@" the branch's rate, then ":" precision
// (float32 unless given), e.g. "rhythm@5.739e-5@1e-2:bfloat16".
std::optional<Recipe> ParseRecipe(const std::string& text, int minibatches, uint64_t seed,
                                  std::string* error);
// Members joined by "+", an ensemble: e.g. "paper+rhythm@5.739e-5@1e-2" or "rhythm+rhythm".
// Member m has the critic seed seed + m.
std::optional<std::vector<Recipe>> ParseEnsemble(const std::string& text, int minibatches,
                                                 uint64_t seed, std::string* error);
using Critics = std::vector<std::unique_ptr<critic::Critic>>;

// One fresh critic per member; empty (with *error) when one cannot be made.
Critics CreateCritics(const std::vector<Recipe>& members, std::string* error);

// The ensemble's P(like) for `count` clips stored back to back: the mean over its critics.
std::vector<double> MeanScores(const Critics& critics, const float* clips, int64_t count);

// MeanScores behind the samplers' interface, each pattern rendered as the critic service hears it.
class EnsembleScorer final : public PatternScorer {
 public:
  // Neither is owned; both must outlive the scorer.
  EnsembleScorer(const Renderer& renderer, const Critics& critics)
      : renderer_(renderer), critics_(critics) {}

  absl::StatusOr<std::vector<double>> Score(absl::Span<const Pattern> patterns) override;

 private:
  const Renderer& renderer_;
  const Critics& critics_;
  std::vector<float> clips_;
};

}  // namespace dd::eval
