// Conversions between API messages and the core library's types, with the API's defaults and
// validation applied in one place.
#pragma once

#include "absl/status/statusor.h"
#include "common/audio/encode.h"
#include "common/pattern/generation.h"
#include "common/pattern/pattern.h"
#include "deepdrummer/v1/loop.pb.h"

namespace dd {

// Applies the defaults (0 steps -> 16, 0 bpm -> 120, empty velocities -> 1.0 on every hit) and
// validates shape and ranges. INVALID_ARGUMENT with the offending field on failure.
absl::StatusOr<Pattern> PatternFromProto(const deepdrummer::v1::DrumLoop& loop);
void PatternToProto(const Pattern& pattern, deepdrummer::v1::DrumLoop* loop);

// The priors' defaults applied (an empty message is the paper's setting) and ranges checked;
// mutation probabilities keep GenerationOptions' defaults. The sample restriction is applied by
// SelectSamplePool against the library that will be used.
absl::StatusOr<GenerationOptions> GenerationOptionsFromPriors(
    const deepdrummer::v1::PatternPriors& priors);

AudioEncoding EncodingFromProto(deepdrummer::v1::AudioFormat format);

}  // namespace dd
