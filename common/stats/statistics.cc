#include "common/stats/statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dd::stats {
namespace {
constexpr double kZ975 = 1.959963984540054;
}  // namespace

double StudentT975(int dof) {
  // Tabulated where the expansion below is poor.
  static constexpr double kTable[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                      2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131};
  if (dof < 1) return std::numeric_limits<double>::infinity();
  if (dof <= 15) return kTable[dof - 1];
  // Cornish-Fisher expansion of t in powers of 1/dof; within 1e-3 from dof 16 on.
  const double z = kZ975, n = dof;
  const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
  return z + (z3 + z) / (4 * n) + (5 * z5 + 16 * z3 + 3 * z) / (96 * n * n) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * n * n * n);
}

Interval MeanInterval(absl::Span<const double> values) {
  Interval interval;
  if (values.empty()) return interval;
  const double n = static_cast<double>(values.size());
  for (double v : values)
    interval.estimate += v / n;
  if (values.size() == 1) {
    interval.low = -std::numeric_limits<double>::infinity();
    interval.high = std::numeric_limits<double>::infinity();
    return interval;
  }
  double variance = 0;
  for (double v : values)
    variance += (v - interval.estimate) * (v - interval.estimate);
  variance /= n - 1;
  const double half = StudentT975(static_cast<int>(values.size()) - 1) * std::sqrt(variance / n);
  interval.low = interval.estimate - half;
  interval.high = interval.estimate + half;
  return interval;
}

Interval WilsonInterval(int successes, int trials) {
  if (trials <= 0) return {0, 0, 1};
  const double n = trials, p = successes / n, z2 = kZ975 * kZ975;
  const double center = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = kZ975 * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  // At 0 or n successes a bound meets p only up to rounding (0 of 3 gave a low of 5.6e-17, above
  // its estimate): the interval always holds its estimate.
  return {p, std::clamp(center - half, 0.0, p), std::clamp(center + half, p, 1.0)};
}

Interval ShareDifferenceInterval(int successes_before, int trials_before, int successes_after,
                                 int trials_after) {
  const Interval before = WilsonInterval(successes_before, trials_before);
  const Interval after = WilsonInterval(successes_after, trials_after);
  const double d = after.estimate - before.estimate;
  return {d, d - std::hypot(after.estimate - after.low, before.high - before.estimate),
          d + std::hypot(after.high - after.estimate, before.estimate - before.low)};
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(std::clamp(p, 0.0, 1.0) * static_cast<double>(values.size()));
  return values[static_cast<size_t>(std::max(rank, 1.0)) - 1];
}

}  // namespace dd::stats
