#include "common/listeners/listener.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/text/exact_number.h"

namespace dd::listeners {

absl::Status ValidateListenerOptions(const ListenerOptions& options) {
  if (!(options.like_rate > 0 && options.like_rate < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("like_rate must be in (0, 1), got ", ExactNumber(options.like_rate)));
  }
  if (!(options.decision_noise >= 0 && options.decision_noise <= 10)) {
    return absl::InvalidArgumentError(absl::StrCat("decision_noise must be in [0, 10], got ",
                                                   ExactNumber(options.decision_noise)));
  }
  return absl::OkStatus();
}

absl::StatusOr<Calibration> Calibrate(const Taste& taste, absl::Span<const HeardLoop> random_loops,
                                      const ListenerOptions& options) {
  if (absl::Status valid = ValidateListenerOptions(options); !valid.ok()) return valid;
  Calibration calibration;
  calibration.like_rate = options.like_rate;
  if (taste.is_random()) return calibration;
  if (random_loops.size() < 10) {
    return absl::InvalidArgumentError(
        absl::StrCat("calibration needs at least 10 random loops, got ", random_loops.size()));
  }
  std::vector<double> preferences;
  preferences.reserve(random_loops.size());
  double mean = 0;
  for (const HeardLoop& heard : random_loops) {
    preferences.push_back(taste.preference(heard));
    mean += preferences.back() / static_cast<double>(random_loops.size());
  }
  double variance = 0;
  for (double p : preferences)
    variance += (p - mean) * (p - mean);
  variance /= static_cast<double>(preferences.size() - 1);
  // A taste the random loops do not vary on cannot be calibrated; a tiny width keeps it a
  // threshold instead of dividing by zero.
  calibration.scale = std::max(options.decision_noise * std::sqrt(variance), 1e-9);
  // The expected like rate over the random loops falls as the threshold rises: bisect for the
  // threshold that makes it like_rate. (The plain quantile would be off for skewed preferences,
  // whose sigmoid tails do not cancel.)
  auto expected_like_rate = [&](double threshold) {
    double rate = 0;
    for (double p : preferences) {
      const double z = std::clamp((p - threshold) / calibration.scale, -50.0, 50.0);
      rate += 1 / (1 + std::exp(-z)) / static_cast<double>(preferences.size());
    }
    return rate;
  };
  const auto [min_it, max_it] = std::minmax_element(preferences.begin(), preferences.end());
  double low = *min_it - 50 * calibration.scale, high = *max_it + 50 * calibration.scale;
  for (int i = 0; i < 200; ++i) {
    const double middle = (low + high) / 2;
    (expected_like_rate(middle) > options.like_rate ? low : high) = middle;
  }
  calibration.threshold = (low + high) / 2;
  return calibration;
}

double Listener::LikeProbability(const HeardLoop& heard) const {
  if (taste_.is_random()) return calibration_.like_rate;
  const double z = (taste_.preference(heard) - calibration_.threshold) / calibration_.scale;
  return 1 / (1 + std::exp(-std::clamp(z, -50.0, 50.0)));
}

}  // namespace dd::listeners
