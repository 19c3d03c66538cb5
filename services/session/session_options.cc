#include "services/session/session_options.h"

#include "absl/strings/str_cat.h"
#include "services/shared/proto_convert.h"
#include "services/shared/proto_subset.h"

namespace dd {
namespace v1 = deepdrummer::v1;
namespace {

constexpr uint32_t kDefaultPhase1Loops = 80;
constexpr uint32_t kDefaultPhase2PerCritic = 30;
// Mixed into the session's seed to seed its critic: the two streams differ, yet both follow.
constexpr uint64_t kCriticSeedSalt = 0xC417;

// The values a session runs with, written into its options in place of unset fields: what is
// stored, returned and exported then says what the session did even if a later version's
// defaults differ. The defaults are mode-independent, so either mode's options will do.
void RecordResolvedDefaults(const GenerationOptions& generation, const SamplerOptions& sampler,
                            v1::SessionOptions& options) {
  v1::PatternPriors& priors = *options.mutable_priors();
  priors.set_steps(static_cast<uint32_t>(generation.steps));
  priors.set_tracks(static_cast<uint32_t>(generation.tracks));
  priors.set_bpm(generation.bpm);
  priors.set_hit_density(generation.hit_density);
  v1::SamplerOptions& out = *options.mutable_sampler();
  out.set_temperature(sampler.temperature);
  out.set_min_steps(static_cast<uint32_t>(sampler.min_steps));
  out.set_threshold(sampler.threshold);
  out.set_max_steps(static_cast<uint32_t>(sampler.max_steps));
  out.set_chains(static_cast<uint32_t>(sampler.chains));
  out.set_cell_flip_probability(generation.cell_flip_probability);
  out.set_sample_swap_probability(generation.sample_swap_probability);
  if (options.audio_format() == v1::AUDIO_FORMAT_UNSPECIFIED) {
    options.set_audio_format(v1::AUDIO_FORMAT_WAV);
  }
}

}  // namespace

absl::Status CompleteSessionOptions(v1::SessionOptions& options, const SessionOptionLimits& limits,
                                    uint64_t unset_seed) {
  if (!options.has_phase1_loops()) options.set_phase1_loops(kDefaultPhase1Loops);
  if (!options.has_phase2_loops_per_critic()) {
    options.set_phase2_loops_per_critic(kDefaultPhase2PerCritic);
  }
  if (options.phase1_loops() < 1 ||
      options.phase1_loops() > static_cast<uint32_t>(limits.max_phase1_loops)) {
    return absl::InvalidArgumentError(absl::StrCat("options.phase1_loops must be in [1, ",
                                                   limits.max_phase1_loops, "], got ",
                                                   options.phase1_loops()));
  }
  if (options.phase2_loops_per_critic() >
      static_cast<uint32_t>(limits.max_phase2_loops_per_critic)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.phase2_loops_per_critic must be in [0, ", limits.max_phase2_loops_per_critic,
        "], got ", options.phase2_loops_per_critic()));
  }
  auto generation = GenerationOptionsFromProto(options.priors(), options.sampler());
  if (!generation.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("options.", generation.status().message()));
  }
  absl::StatusOr<SamplerOptions> sampler;
  for (v1::SamplingMode mode : {v1::SAMPLING_MODE_METROPOLIS, v1::SAMPLING_MODE_THRESHOLD}) {
    sampler = SamplerOptionsFromProto(mode, options.sampler());
    if (!sampler.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("options.", sampler.status().message()));
    }
  }
  // Checked on what the session will run with, so an unset field counts at its default.
  const int64_t loop_steps = int64_t{sampler->min_steps} + sampler->max_steps;
  if (loop_steps > limits.max_sampling_steps) {
    return absl::InvalidArgumentError(absl::StrCat(
        "options.sampler.min_steps + options.sampler.max_steps is ", sampler->min_steps, " + ",
        sampler->max_steps, " = ", loop_steps, " steps, and this service draws a loop in at most ",
        limits.max_sampling_steps,
        " (each step scores a loop with the critic, and a loop must be drawn before the generator "
        "call times out); lower min_steps or max_steps"));
  }
  if (auto encoding = EncodingFromProto(options.audio_format(), "options.audio_format");
      !encoding.ok()) {
    return encoding.status();
  }
  RecordResolvedDefaults(*generation, *sampler, options);
  if (!options.has_phase1_critic_lag()) {
    options.set_phase1_critic_lag(static_cast<uint32_t>(limits.default_phase1_critic_lag));
  }
  if (options.phase1_critic_lag() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.phase1_critic_lag must be 0 (the paper's order) or 1, got ",
                     options.phase1_critic_lag()));
  }
  if (!options.has_seed()) options.set_seed(unset_seed);
  if (!options.critic().has_seed()) {
    options.mutable_critic()->set_seed(options.seed() ^ kCriticSeedSalt);
  }
  return absl::OkStatus();
}

absl::Status CheckRetryOptions(const v1::SessionOptions& requested,
                               const std::string& stored_options, const std::string& session_id,
                               const std::string& request_id) {
  v1::SessionOptions stored;
  if (!stored.ParseFromString(stored_options)) {
    return absl::InternalError(
        absl::StrCat("session ", session_id, " has stored options that do not parse"));
  }
  if (auto field = FirstFieldDiffering(requested, stored)) {
    return absl::InvalidArgumentError(
        absl::StrCat("request_id ", request_id, " already started session ", session_id,
                     " with other options (options.", *field,
                     " differs); a retry must send the same options, and a new session needs a new "
                     "request_id"));
  }
  return absl::OkStatus();
}

v1::AudioFormat StoredAudioFormat(const std::string& stored_options) {
  v1::SessionOptions options;
  options.ParseFromString(stored_options);
  return options.audio_format() == v1::AUDIO_FORMAT_UNSPECIFIED ? v1::AUDIO_FORMAT_WAV
                                                                : options.audio_format();
}

}  // namespace dd
