// A SampleRequest turned into what the sampler library runs: options with the API's defaults,
// a pattern generator over the sample library, and the job. All validation of a request lives
// here, so the handler only runs plans.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/pattern/generation.h"
#include "common/sampler/sampler.h"
#include "deepdrummer/v1/generator.pb.h"

namespace dd {

struct SamplingLimits {
  int max_count = 256;     // Loops per request.
  int max_avoid = 100000;  // Fingerprints to avoid per request.
};

struct SamplingPlan {
  SamplerOptions sampler;
  PatternGenerator generator;
  SamplingJob job;  // Without callbacks.
  std::optional<uint64_t> critic_version;
};

// INVALID_ARGUMENT for a missing critic id (unless validate_only), out-of-range options or count;
// NOT_FOUND or FAILED_PRECONDITION when the priors name samples the library lacks.
absl::StatusOr<SamplingPlan> PlanSampling(const deepdrummer::v1::SampleRequest& request,
                                          absl::Span<const std::string> sample_ids,
                                          const SamplingLimits& limits);

}  // namespace dd
