#include "services/shared/proto_convert.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/text/exact_number.h"

namespace dd {

namespace v1 = deepdrummer::v1;
absl::StatusOr<int> BoundedInt(const char* field, uint32_t value, int max) {
  if (value > static_cast<uint32_t>(max)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " must be at most ", max, ", got ", value));
  }
  return static_cast<int>(value);
}

absl::StatusOr<SamplerOptions> SamplerOptionsFromProto(v1::SamplingMode mode,
                                                       const v1::SamplerOptions& in) {
  SamplerOptions options;
  switch (mode) {
    case v1::SAMPLING_MODE_UNSPECIFIED:
    case v1::SAMPLING_MODE_METROPOLIS:
      options.mode = SamplingMode::kMetropolis;
      break;
    case v1::SAMPLING_MODE_THRESHOLD:
      options.mode = SamplingMode::kThreshold;
      break;
    case v1::SAMPLING_MODE_HILL_CLIMB:
      options.mode = SamplingMode::kHillClimb;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("unknown sampling mode ", mode));
  }
  if (in.has_temperature()) options.temperature = in.temperature();
  if (in.has_threshold()) options.threshold = in.threshold();
  if (in.has_min_steps()) {
    auto steps = BoundedInt("sampler.min_steps", in.min_steps(), SamplerOptions::kMaxStepLimit);
    if (!steps.ok()) return steps.status();
    options.min_steps = *steps;
  }
  if (in.has_max_steps()) {
    auto steps = BoundedInt("sampler.max_steps", in.max_steps(), SamplerOptions::kMaxStepLimit);
    if (!steps.ok()) return steps.status();
    options.max_steps = *steps;
  }
  if (in.has_chains()) {
    auto chains = BoundedInt("sampler.chains", in.chains(), SamplerOptions::kMaxChains);
    if (!chains.ok()) return chains.status();
    options.chains = *chains;
  }
  if (absl::Status status = ValidateSamplerOptions(options); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("sampler.", status.message()));
  }
  return options;
}

absl::StatusOr<Pattern> PatternFromProto(const v1::DrumLoop& loop) {
  const uint32_t steps = loop.steps() == 0 ? PatternLimits::kDefaultSteps : loop.steps();
  if (steps > static_cast<uint32_t>(PatternLimits::kMaxSteps)) {
    return absl::InvalidArgumentError(absl::StrCat("steps must be in [", PatternLimits::kMinSteps,
                                                   ", ", PatternLimits::kMaxSteps, "], got ",
                                                   steps));
  }
  const double bpm = loop.bpm() == 0.0 ? PatternLimits::kDefaultBpm : loop.bpm();
  if (absl::Status s = ValidateTrackCount(loop.tracks_size()); !s.ok()) return s;
  std::vector<Track> tracks;
  tracks.reserve(static_cast<size_t>(loop.tracks_size()));
  for (int t = 0; t < loop.tracks_size(); ++t) {
    const v1::Track& in = loop.tracks(t);
    if (in.hits_size() != static_cast<int>(steps)) {
      return absl::InvalidArgumentError(absl::StrCat("tracks[", t, "].hits has ", in.hits_size(),
                                                     " entries, the loop has ", steps, " steps"));
    }
    if (in.velocities_size() != 0 && in.velocities_size() != static_cast<int>(steps)) {
      return absl::InvalidArgumentError(absl::StrCat("tracks[", t, "].velocities has ",
                                                     in.velocities_size(),
                                                     " entries, expected 0 or ", steps));
    }
    Track track;
    track.sample_id = in.sample_id();
    track.velocities.resize(steps, 0.0f);
    for (uint32_t k = 0; k < steps; ++k) {
      if (!in.hits(static_cast<int>(k))) continue;
      float velocity = 1.0f;
      if (in.velocities_size() != 0) {
        velocity = in.velocities(static_cast<int>(k));
        if (!std::isfinite(velocity) || velocity <= 0.0f || velocity > 1.0f) {
          return absl::InvalidArgumentError(absl::StrCat("tracks[", t, "].velocities[", k,
                                                         "] must be in (0, 1] on a hit, got ",
                                                         ExactNumber(velocity)));
        }
      }
      track.velocities[k] = velocity;
    }
    tracks.push_back(std::move(track));
  }
  return Pattern::FromTracks(static_cast<int>(steps), bpm, std::move(tracks));
}

void PatternToProto(const Pattern& pattern, v1::DrumLoop* loop) {
  loop->Clear();
  loop->set_steps(static_cast<uint32_t>(pattern.steps()));
  loop->set_bpm(pattern.bpm());
  for (const Track& in : pattern.tracks()) {
    v1::Track* out = loop->add_tracks();
    out->set_sample_id(in.sample_id);
    bool all_full = true;
    for (float v : in.velocities) {
      out->add_hits(v > 0.0f);
      all_full = all_full && (v == 0.0f || v == 1.0f);
    }
    if (!all_full) {
      for (float v : in.velocities)
        out->add_velocities(v);
    }
  }
}

absl::StatusOr<GenerationOptions> GenerationOptionsFromProto(const v1::PatternPriors& priors,
                                                             const v1::SamplerOptions& sampler) {
  GenerationOptions options;
  // Range checks happen before narrowing to int, so messages quote what the caller sent.
  if (priors.steps() != 0) {
    if (priors.steps() > static_cast<uint32_t>(PatternLimits::kMaxSteps)) {
      return absl::InvalidArgumentError(
          absl::StrCat("priors.steps must be in [", PatternLimits::kMinSteps, ", ",
                       PatternLimits::kMaxSteps, "], got ", priors.steps()));
    }
    options.steps = static_cast<int>(priors.steps());
  }
  if (priors.tracks() != 0) {
    if (priors.tracks() > static_cast<uint32_t>(PatternLimits::kMaxTracks)) {
      return absl::InvalidArgumentError(
          absl::StrCat("priors.tracks must be in [", PatternLimits::kMinTracks, ", ",
                       PatternLimits::kMaxTracks, "], got ", priors.tracks()));
    }
    options.tracks = static_cast<int>(priors.tracks());
  }
  if (priors.bpm() != 0.0) options.bpm = priors.bpm();
  if (priors.hit_density() != 0.0) options.hit_density = priors.hit_density();
  options.four_on_the_floor = priors.four_on_the_floor();
  for (const absl::Status& s : {ValidateSteps(options.steps), ValidateBpm(options.bpm)}) {
    // The pattern library names its own fields ("bpm"); here they are the priors'.
    if (!s.ok()) return absl::Status(s.code(), absl::StrCat("priors.", s.message()));
  }
  if (absl::Status s = ValidateTrackCount(options.tracks); !s.ok()) return s;
  if (!std::isfinite(options.hit_density) || options.hit_density <= 0.0 ||
      options.hit_density > 1.0) {
    return absl::InvalidArgumentError(
        absl::StrCat("priors.hit_density must be in (0, 1], got ", options.hit_density));
  }
  if (options.four_on_the_floor && options.steps % 4 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("priors.four_on_the_floor needs a step count divisible by 4, got ",
                     options.steps, " steps"));
  }
  if (sampler.has_cell_flip_probability()) {
    options.cell_flip_probability = sampler.cell_flip_probability();
  }
  if (sampler.has_sample_swap_probability()) {
    options.sample_swap_probability = sampler.sample_swap_probability();
  }
  for (const auto& [field, p] :
       {std::pair{"sampler.cell_flip_probability", options.cell_flip_probability},
        std::pair{"sampler.sample_swap_probability", options.sample_swap_probability}}) {
    if (!std::isfinite(p) || p < 0.0 || p > 1.0) {
      return absl::InvalidArgumentError(absl::StrCat(field, " must be in [0, 1], got ", p));
    }
  }
  return options;
}

void TimestampToProto(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(time);
  out->set_seconds(micros / 1000000);
  out->set_nanos(static_cast<int32_t>((micros % 1000000) * 1000));
}

absl::StatusOr<AudioEncoding> EncodingFromProto(v1::AudioFormat format, const char* field) {
  switch (format) {
    case v1::AUDIO_FORMAT_UNSPECIFIED:
    case v1::AUDIO_FORMAT_WAV:
      return AudioEncoding::kWav16;
    case v1::AUDIO_FORMAT_FLAC:
      return AudioEncoding::kFlac16;
    case v1::AUDIO_FORMAT_OGG:
      return AudioEncoding::kOggVorbis;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(field, " ", static_cast<int>(format),
                       " is not an AudioFormat (AUDIO_FORMAT_WAV, AUDIO_FORMAT_FLAC or "
                       "AUDIO_FORMAT_OGG)"));
  }
}

absl::StatusOr<bool> LikedFromProto(v1::Rating rating, const std::string& field) {
  if (rating == v1::RATING_LIKE) return true;
  if (rating == v1::RATING_DISLIKE) return false;
  const std::string sent = rating == v1::RATING_UNSPECIFIED ? "RATING_UNSPECIFIED (or no rating)"
                                                            : std::to_string(rating);
  return absl::InvalidArgumentError(
      absl::StrCat(field, " must be RATING_LIKE or RATING_DISLIKE, got ", sent));
}

}  // namespace dd
