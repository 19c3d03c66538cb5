// A simulated listener: a taste, calibrated against random loops so that it likes about as many
// of them as the paper's people did, and its own randomness, so that it is not a perfect oracle.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/listeners/taste.h"
#include "common/random/rng.h"

namespace dd::listeners {

struct ListenerOptions {
  // Share of random loops the listener likes. The paper's people liked 37% of the loops of the
  // untrained critic (theta_init), which are close to random loops.
  double like_rate = 0.37;
  // Width of the sigmoid from preference to P(like), in standard deviations of the preference over
  // random loops: 0 is a deterministic judge; 0.25 flips a coin near the threshold only.
  double decision_noise = 0.25;
};

absl::Status ValidateListenerOptions(const ListenerOptions& options);

// Where a taste's preference turns into a like.
struct Calibration {
  double threshold = 0;  // Preference at which P(like) = 0.5.
  double scale = 1;      // Sigmoid width, in preference units (> 0).
  double like_rate = 0.37;
};

// Calibrates `taste` on loops drawn uniformly at random: the sigmoid's width is decision_noise
// standard deviations of their preferences, and its threshold makes the expected share of them
// liked equal like_rate. Needs at least 10 loops.
absl::StatusOr<Calibration> Calibrate(const Taste& taste, absl::Span<const HeardLoop> random_loops,
                                      const ListenerOptions& options);

class Listener {
 public:
  Listener(Taste taste, Calibration calibration, uint64_t seed)
      : taste_(std::move(taste)), calibration_(calibration), rng_(seed) {}

  // 1 / (1 + exp(-(preference - threshold) / scale)); like_rate for the random taste.
  double LikeProbability(const HeardLoop& heard) const;
  // A verdict drawn with LikeProbability from the listener's own random stream.
  bool Likes(const HeardLoop& heard) { return rng_.Bernoulli(LikeProbability(heard)); }

  const Taste& taste() const { return taste_; }
  const Calibration& calibration() const { return calibration_; }

 private:
  Taste taste_;
  Calibration calibration_;
  Rng rng_;
};

}  // namespace dd::listeners
