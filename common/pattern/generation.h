// Random drum loops and the paper's mutation. The mutation is a symmetric proposal (toggling a
// cell and drawing a track's sample uniformly are their own inverses in probability), which is
// what lets the Metropolis-Hastings sampler use the plain ratio f(x')/f(x).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/pattern/pattern.h"
#include "common/random/rng.h"

namespace dd {

struct GenerationOptions {
  int steps = PatternLimits::kDefaultSteps;    // Steps per bar.
  int tracks = PatternLimits::kDefaultTracks;  // Tracks per loop.
  double bpm = PatternLimits::kDefaultBpm;
  double hit_density = 0.5;               // P(cell is a hit) in a random loop.
  bool four_on_the_floor = false;         // Track 0: a kick on steps 0, 4, 8, ...
  double cell_flip_probability = 0.05;    // Mutation: P(toggle) per cell.
  double sample_swap_probability = 0.15;  // Mutation: P(redraw sample) per track.
};

// Which samples a generator may put on tracks.
struct SamplePool {
  std::vector<std::string> ids;       // Any track.
  std::vector<std::string> kick_ids;  // Track 0 under four-on-the-floor.
};

// Selects the pool from all available ids: restricted to `only_ids` and ids under
// `only_folders` (either matches) when those are non-empty; kicks are `kick_ids` if given, else
// pool ids whose name contains "kick" (case-insensitive). Fails when the pool is empty, an
// explicitly named id does not exist, or four-on-the-floor finds no kick.
absl::StatusOr<SamplePool> SelectSamplePool(absl::Span<const std::string> all_ids,
                                            absl::Span<const std::string> only_ids,
                                            absl::Span<const std::string> only_folders,
                                            absl::Span<const std::string> kick_ids,
                                            bool four_on_the_floor);

class PatternGenerator {
 public:
  static absl::StatusOr<PatternGenerator> Create(GenerationOptions options, SamplePool pool);

  // A uniformly random loop: each track's sample drawn uniformly from the pool, each cell a hit
  // with probability hit_density, then the four-on-the-floor constraint applied if enabled.
  Pattern Random(Rng& rng) const;
  // The paper's perturbation: each track's sample redrawn with p = sample_swap_probability, each
  // cell toggled with p = cell_flip_probability; constrained cells are never touched.
  Pattern Mutate(const Pattern& pattern, Rng& rng) const;
  // True when `pattern` has this generator's shape and satisfies its constraint.
  bool Satisfies(const Pattern& pattern) const;
  // How many distinct loops Random and Mutate can reach: per track, its pool's samples times the
  // hit patterns of its free cells. Saturates at the largest uint64_t.
  uint64_t DistinctPatterns() const;

  const GenerationOptions& options() const { return options_; }
  const SamplePool& pool() const { return pool_; }

 private:
  PatternGenerator(GenerationOptions options, SamplePool pool)
      : options_(std::move(options)), pool_(std::move(pool)) {}
  bool IsConstrainedCell(int track, int step) const {
    return options_.four_on_the_floor && track == 0 && step % 4 == 0;
  }
  const std::vector<std::string>& PoolForTrack(int track) const {
    return options_.four_on_the_floor && track == 0 ? pool_.kick_ids : pool_.ids;
  }

  GenerationOptions options_;
  SamplePool pool_;
};

}  // namespace dd
