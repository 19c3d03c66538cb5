// Conversions between API messages and the core library's types, with the API's defaults and
// validation applied in one place.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/audio/encode.h"
#include "common/pattern/generation.h"
#include "common/pattern/pattern.h"
#include "common/sampler/sampler_options.h"
#include "deepdrummer/v1/generator.pb.h"
#include "deepdrummer/v1/loop.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace dd {

// Applies the defaults (0 steps -> 16, 0 bpm -> 120, empty velocities -> 1.0 on every hit) and
// validates shape and ranges. INVALID_ARGUMENT with the offending field on failure.
absl::StatusOr<Pattern> PatternFromProto(const deepdrummer::v1::DrumLoop& loop);
void PatternToProto(const Pattern& pattern, deepdrummer::v1::DrumLoop* loop);

// The priors' and the sampler's mutation probabilities with their defaults applied (empty
// messages are the paper's setting), every range checked with the field named. The sample
// restriction is applied by SelectSamplePool against the library that will be used.
absl::StatusOr<GenerationOptions> GenerationOptionsFromProto(
    const deepdrummer::v1::PatternPriors& priors, const deepdrummer::v1::SamplerOptions& sampler);

// Narrows a proto count to int, naming the field when it is above `max` instead of wrapping.
absl::StatusOr<int> BoundedInt(const char* field, uint32_t value, int max);

// Sampler options with the API's defaults, validated (INVALID_ARGUMENT naming the field).
absl::StatusOr<SamplerOptions> SamplerOptionsFromProto(deepdrummer::v1::SamplingMode mode,
                                                       const deepdrummer::v1::SamplerOptions& in);

void TimestampToProto(absl::Time time, google::protobuf::Timestamp* out);

// The encoding of an AudioFormat (UNSPECIFIED is WAV); a value the API does not define is
// INVALID_ARGUMENT naming `field`, not silently WAV.
absl::StatusOr<AudioEncoding> EncodingFromProto(deepdrummer::v1::AudioFormat format,
                                                const char* field);

// Whether a rating is a like (true) or a dislike (false); RATING_UNSPECIFIED or a value the API
// does not define is INVALID_ARGUMENT naming `field` and the value sent.
absl::StatusOr<bool> LikedFromProto(deepdrummer::v1::Rating rating, const std::string& field);

}  // namespace dd
