// The steady-state audio of a loop at a fixed length: the bar as heard once the loop has been
// playing (previous bar's tails wrapped in), repeated or cut to `frames`. The critic hears this,
// the same segment for training and scoring, whatever the loop's bpm or step count.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/pattern/pattern.h"
#include "common/render/renderer.h"

namespace dd {

absl::StatusOr<std::vector<float>> RenderSteadyClip(const Renderer& renderer,
                                                    const Pattern& pattern, int64_t frames);
// The same into `frames` samples at `out`; `bar` is scratch for loops whose bar is longer than
// the clip, reused from call to call.
absl::Status RenderSteadyClipInto(const Renderer& renderer, const Pattern& pattern, float* out,
                                  int64_t frames, RenderedAudio& bar);

}  // namespace dd
