#include "tests/support/kick_lover.h"

#include <algorithm>
#include <cctype>

#include "common/critic/critic_config.h"
#include "common/render/steady_clip.h"
#include "tests/support/test_support.h"

namespace dd::testing {

bool IsEightOhEightKick(const std::string& sample_id) {
  std::string lower = sample_id;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower.rfind("808/", 0) == 0 && lower.find("kick") != std::string::npos;
}

std::unique_ptr<KickLover> KickLover::Create() {
  if (SharedDrumSamplesDir().empty()) return nullptr;
  auto library = SampleLibrary::Load(SharedDrumSamplesDir(), {});
  if (!library.ok()) return nullptr;
  std::vector<std::string> kicks, others;
  for (const std::string& id : (*library)->ids()) {
    (IsEightOhEightKick(id) ? kicks : others).push_back(id);
  }
  if (kicks.size() < 20) return nullptr;
  auto generator = PatternGenerator::Create(GenerationOptions{}, SamplePool{(*library)->ids(), {}});
  if (!generator.ok()) return nullptr;
  return std::unique_ptr<KickLover>(
      new KickLover(*library, *std::move(generator), std::move(kicks), std::move(others)));
}

Pattern KickLover::MakeLoop(Rng& rng, bool with_kick) const {
  Pattern pattern = generator_.Random(rng);
  for (int track = 0; track < pattern.num_tracks(); ++track) {
    if (IsEightOhEightKick(pattern.track(track).sample_id)) {
      pattern.set_sample(track, others_[rng.UniformIndex(others_.size())]);
    }
  }
  if (with_kick) {
    pattern.set_sample(static_cast<int>(rng.UniformIndex(pattern.num_tracks())),
                       kicks_[rng.UniformIndex(kicks_.size())]);
  }
  return pattern;
}

bool KickLover::Likes(const Pattern& pattern) const {
  return std::any_of(pattern.tracks().begin(), pattern.tracks().end(),
                     [](const Track& track) { return IsEightOhEightKick(track.sample_id); });
}

std::vector<float> KickLover::Clip(const Pattern& pattern) const {
  auto clip = RenderSteadyClip(renderer_, pattern, critic::kClipFrames);
  return clip.ok() ? *std::move(clip) : std::vector<float>{};
}

void KickLover::Train(critic::Critic& critic, int ratings, Rng& rng) const {
  for (int i = 0; i < ratings; ++i) {
    const bool liked = rng.Bernoulli(0.5);
    critic.AddRatingAndTrain(Clip(MakeLoop(rng, liked)), liked);
  }
}

}  // namespace dd::testing
