// The random loops every listener is calibrated on: drawn here from the session's priors over the
// samples the render service has, rendered by the render service, heard like any other loop.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/listeners/taste.h"
#include "deepdrummer/v1/render.grpc.pb.h"
#include "services/ddsim/call_recorder.h"

namespace dd::sim {

struct RandomLoopsHeard {
  std::vector<listeners::HeardLoop> loops;
  // Sample folders present in the library, sorted: the choices of the "family" taste.
  std::vector<std::string> families;
};

absl::StatusOr<RandomLoopsHeard> HearRandomLoops(deepdrummer::v1::RenderService::Stub& render,
                                                 const deepdrummer::v1::PatternPriors& priors,
                                                 int count, uint64_t seed,
                                                 absl::Duration call_timeout,
                                                 CallRecorder& recorder);

}  // namespace dd::sim
