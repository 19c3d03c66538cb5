// Confidence intervals for the experiment reports: a mean over listeners (Student's t), a share
// (Wilson score) and a difference of two shares (Newcombe's hybrid score). All at 95%.
#pragma once

#include <vector>

#include "absl/types/span.h"

namespace dd::stats {

struct Interval {
  double estimate = 0;
  double low = 0;
  double high = 0;
  bool Contains(double x) const { return low <= x && x <= high; }
};

// Two-sided 97.5% quantile of Student's t with `dof` degrees of freedom (dof >= 1).
double StudentT975(int dof);

// Mean with a 95% t interval. One value gives an unbounded interval; none gives all zeros.
Interval MeanInterval(absl::Span<const double> values);

// Share successes / trials with its 95% Wilson score interval; [0, 1] when trials is 0.
Interval WilsonInterval(int successes, int trials);

// p_after - p_before with Newcombe's 95% interval built from the two Wilson intervals.
Interval ShareDifferenceInterval(int successes_before, int trials_before, int successes_after,
                                 int trials_after);

// Nearest-rank percentile, p in [0, 1]; 0 for no values.
double Percentile(std::vector<double> values, double p);

}  // namespace dd::stats
