#include "tests/bench/critic/eval_support.h"

#include <algorithm>

#include <cstdio>

#include "absl/strings/str_split.h"
#include "common/critic/critic_config.h"
#include "common/render/steady_clip.h"
#include "common/samples/sample_library.h"
#include "tests/support/test_support.h"

namespace dd::eval {

std::optional<Kit> LoadKit(std::string folder) {
  if (folder.empty()) folder = testing::DefaultKitDir().string();
  auto library = SampleLibrary::Load(folder);
  if (!library.ok() || (*library)->samples().empty()) {
    std::fprintf(stderr, "cannot load samples from %s\n", folder.c_str());
    return std::nullopt;
  }
  auto pool = SelectSamplePool((*library)->ids(), {}, {}, {}, false);
  if (!pool.ok()) {
    std::fprintf(stderr, "no usable sample pool in %s\n", folder.c_str());
    return std::nullopt;
  }
  auto generator = PatternGenerator::Create({}, *std::move(pool));
  if (!generator.ok()) {
    std::fprintf(stderr, "%s\n", std::string(generator.status().message()).c_str());
    return std::nullopt;
  }
  return Kit{folder, Renderer(*library), *std::move(generator)};
}

std::optional<HeardClip> Hear(const Renderer& renderer, const Pattern& pattern) {
  auto clip = RenderSteadyClip(renderer, pattern, critic::kClipFrames);
  if (!clip.ok()) return std::nullopt;
  auto features = listeners::ComputeLoopFeatures(*clip, pattern.steps(), critic::kClipSampleRate);
  if (!features.ok()) return std::nullopt;
  HeardClip heard{std::move(*clip), {std::move(*features), {}}};
  // The sample of every track that plays, as the `family` taste reads them.
  for (int t = 0; t < pattern.num_tracks(); ++t) {
    for (int s = 0; s < pattern.steps(); ++s) {
      if (pattern.velocity(t, s) > 0) {
        heard.heard.sample_ids.push_back(pattern.track(t).sample_id);
        break;
      }
    }
  }
  return heard;
}

std::vector<HeardClip> RandomClips(const Renderer& renderer, const PatternGenerator& generator,
                                   int count, Rng& rng) {
  std::vector<HeardClip> clips;
  while (static_cast<int>(clips.size()) < count) {
    if (auto heard = Hear(renderer, generator.Random(rng))) clips.push_back(std::move(*heard));
  }
  return clips;
}

std::optional<Recipe> ParseRecipe(const std::string& text, int minibatches, uint64_t seed,
                                  std::string* error) {
  Recipe recipe;
  recipe.config.seed = seed;
  recipe.config.minibatches_per_rating = minibatches;
  const std::vector<std::string> with_precision = absl::StrSplit(text, ':');
  const std::vector<std::string> parts = absl::StrSplit(with_precision[0], '@');
  if (parts[0] != "paper" && parts[0] != "rhythm") {
    *error =
        "unknown recipe " + text + ": paper or rhythm[@learning_rate[@rhythm_rate]][:precision]";
    return std::nullopt;
  }
  const auto precision = critic::ParseTrainingPrecision(
      with_precision.size() > 1 ? with_precision[1] : "float32", "cpu", error);
  if (!precision) return std::nullopt;
  recipe.precision = *precision;
  recipe.config.rhythm_branch = parts[0] == "rhythm";
  if (parts.size() > 1) recipe.config.learning_rate = std::stod(parts[1]);
  if (parts.size() > 2) recipe.config.rhythm_learning_rate = std::stod(parts[2]);
  return recipe;
}

std::optional<std::vector<Recipe>> ParseEnsemble(const std::string& text, int minibatches,
                                                 uint64_t seed, std::string* error) {
  std::vector<Recipe> members;
  for (const absl::string_view member : absl::StrSplit(text, '+')) {
    // Each member its own initial weights and minibatch draws: two members of one recipe would
    // otherwise be one critic counted twice.
    auto parsed = ParseRecipe(std::string(member), minibatches, seed + members.size(), error);
    if (!parsed) return std::nullopt;
    members.push_back(*parsed);
  }
  return members;
}

Critics CreateCritics(const std::vector<Recipe>& members, std::string* error) {
  Critics critics;
  for (const Recipe& member : members) {
    auto critic =
        critic::Critic::Create(member.config, "cpu", error, {.precision = member.precision});
    if (!critic) return {};
    critics.push_back(std::move(critic));
  }
  return critics;
}

std::vector<double> MeanScores(const Critics& critics, const float* clips, int64_t count) {
  std::vector<double> mean(static_cast<size_t>(count), 0.0);
  for (const auto& critic : critics) {
    const std::vector<float> scores = critic->Score(clips, count);
    for (size_t i = 0; i < mean.size(); ++i)
      mean[i] += scores[i] / static_cast<double>(critics.size());
  }
  return mean;
}

absl::StatusOr<std::vector<double>> EnsembleScorer::Score(absl::Span<const Pattern> patterns) {
  const auto frames = static_cast<size_t>(critic::kClipFrames);
  clips_.resize(patterns.size() * frames);
  for (size_t i = 0; i < patterns.size(); ++i) {
    absl::StatusOr<std::vector<float>> clip =
        RenderSteadyClip(renderer_, patterns[i], critic::kClipFrames);
    if (!clip.ok()) return clip.status();
    std::copy(clip->begin(), clip->end(), clips_.begin() + static_cast<std::ptrdiff_t>(i * frames));
  }
  return MeanScores(critics_, clips_.data(), static_cast<int64_t>(patterns.size()));
}

}  // namespace dd::eval
