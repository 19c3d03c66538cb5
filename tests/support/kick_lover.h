// The scripted rater of the critic's learning test, shared with the tests that need a critic
// that has learned something: it likes loops with an 808 kick on some track, dislikes the rest.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/critic/critic.h"
#include "common/pattern/generation.h"
#include "common/random/rng.h"
#include "common/render/renderer.h"
#include "common/samples/sample_library.h"

namespace dd::testing {

bool IsEightOhEightKick(const std::string& sample_id);

class KickLover {
 public:
  // Loads ../shared/drum-samples; nullptr when it is missing or has too few 808 kicks.
  static std::unique_ptr<KickLover> Create();

  // A random loop (paper priors) with no 808 kick, plus one on a random track when `with_kick`.
  Pattern MakeLoop(Rng& rng, bool with_kick) const;
  bool Likes(const Pattern& pattern) const;
  std::vector<float> Clip(const Pattern& pattern) const;  // The steady clip the critic hears.
  // Rates `ratings` loops, half of them likely liked, training `critic` after each as the
  // original did.
  void Train(critic::Critic& critic, int ratings, Rng& rng) const;

  const Renderer& renderer() const { return renderer_; }
  const PatternGenerator& generator() const { return generator_; }
  const SampleLibrary& library() const { return *library_; }

 private:
  KickLover(std::shared_ptr<const SampleLibrary> library, PatternGenerator generator,
            std::vector<std::string> kicks, std::vector<std::string> others)
      : library_(library),
        renderer_(library),
        generator_(std::move(generator)),
        kicks_(std::move(kicks)),
        others_(std::move(others)) {}

  std::shared_ptr<const SampleLibrary> library_;
  Renderer renderer_;
  PatternGenerator generator_;
  std::vector<std::string> kicks_, others_;
};

}  // namespace dd::testing
