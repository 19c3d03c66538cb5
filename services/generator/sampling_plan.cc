#include "services/generator/sampling_plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/text/quoted.h"
#include "services/shared/proto_convert.h"

namespace dd {
namespace v1 = deepdrummer::v1;
namespace {

std::vector<std::string> ToVector(const google::protobuf::RepeatedPtrField<std::string>& in) {
  return std::vector<std::string>(in.begin(), in.end());
}

}  // namespace

absl::StatusOr<SamplingPlan> PlanSampling(const v1::SampleRequest& request,
                                          absl::Span<const std::string> sample_ids,
                                          const SamplingLimits& limits) {
  if (request.critic_id().empty() && !request.validate_only()) {
    return absl::InvalidArgumentError("critic_id is required");
  }
  auto count = BoundedInt("count", request.count(), limits.max_count);
  if (!count.ok()) return count.status();
  if (request.avoid_fingerprints_size() > limits.max_avoid) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", limits.max_avoid,
                                                   " avoid_fingerprints, got ",
                                                   request.avoid_fingerprints_size()));
  }
  // A value of another kind (a loop id, say) would avoid nothing, silently.
  for (int i = 0; i < request.avoid_fingerprints_size(); ++i) {
    if (!Pattern::IsFingerprint(request.avoid_fingerprints(i))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "avoid_fingerprints[", i,
          "] is not a loop fingerprint (16 lowercase hex digits, as in SampledLoop.fingerprint), "
          "got ",
          Quoted(request.avoid_fingerprints(i))));
    }
  }
  auto sampler = SamplerOptionsFromProto(request.mode(), request.sampler());
  if (!sampler.ok()) return sampler.status();
  auto generation = GenerationOptionsFromProto(request.priors(), request.sampler());
  if (!generation.ok()) return generation.status();
  const v1::PatternPriors& priors = request.priors();
  auto pool =
      SelectSamplePool(sample_ids, ToVector(priors.sample_ids()), ToVector(priors.sample_folders()),
                       ToVector(priors.kick_sample_ids()), priors.four_on_the_floor());
  if (!pool.ok()) return pool.status();
  auto generator = PatternGenerator::Create(*generation, *std::move(pool));
  if (!generator.ok()) return generator.status();
  const int wanted = std::max(*count, 1);
  // A response never repeats a loop, so chains would search to their step cap for loops that
  // cannot exist; say so before any scoring.
  if (static_cast<uint64_t>(wanted) > generator->DistinctPatterns()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "count is ", wanted, " but the priors allow only ", generator->DistinctPatterns(),
        " distinct loops over this generator's sample library, and a response never repeats a "
        "loop; allow more steps, tracks or samples"));
  }

  SamplingJob job;
  job.count = wanted;
  job.seed = request.seed();
  job.avoid_fingerprints.insert(request.avoid_fingerprints().begin(),
                                request.avoid_fingerprints().end());
  std::optional<uint64_t> version;
  if (request.has_critic_version()) version = request.critic_version();
  return SamplingPlan{*sampler, *std::move(generator), std::move(job), version};
}

}  // namespace dd
