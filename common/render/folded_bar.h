// Mixing a loop whose bars are all alike from the hits of one bar. Those hits, laid from frame 0,
// ring on for some bars; cut that into bar-long chunks and chunk c is what the bar's hits still
// sound c bars later. Bar q of a loop of R bars (q >= R: the tail) then hears chunks
// [max(0, q - R + 1), min(q, chunks - 1)], and the steady bar of an endless loop hears them all.
// Each output frame is summed from the chunks once, in cache, and written once.
#pragma once

#include <cstdint>
#include <vector>

#include "common/render/helper_team.h"
#include "common/render/mix_kernels.h"

namespace dd::mix {

// One stretch of output: pcm[i] = sum of chunk c at frame i for c in [first_chunk, last_chunk]
// (clamped to the chunks that exist; an empty range is silence), i in [0, frames), frames at
// most one bar. When pcm16 is set instead of pcm, the sum is written as 16-bit PCM
// (FloatToPcm16, which clamps to full scale whatever the clip setting).
struct FoldedBarOutput {
  float* pcm = nullptr;
  int64_t frames = 0;
  int first_chunk = 0;
  int last_chunk = 0;
  int16_t* pcm16 = nullptr;
};

// Chunks that one bar's hits fill: ceil(last frame they reach / bar), at least 1.
int FoldedChunks(const std::vector<Segment>& hits, int64_t bar_frames);

// Writes every output from `hits`, one bar's hits with first frames counted from the bar's
// start (they may ring past it). Clamps float outputs to [-1, 1] on the way when `clip` is set.
// Returns the output frames beyond full scale: of every output when `clip` is set, of the 16-bit
// outputs otherwise. Sorts `hits` by first frame (stably). Each frame's sum is taken in a fixed
// order that depends only on the hits, so every worker renders the same bits, and so do the
// `helpers` (optional) that take some of the bar's blocks.
int64_t MixFoldedBar(std::vector<Segment>& hits, int64_t bar_frames,
                     const std::vector<FoldedBarOutput>& outputs, bool clip,
                     HelperTeam* helpers = nullptr);

}  // namespace dd::mix
