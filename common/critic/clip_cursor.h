// Clips handed to Critic::Score as several runs (ClipRun: one per request of a batch, each in its
// own host buffer), walked in order and copied to their places in a batch without gathering them
// on the host first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "common/critic/critic.h"

namespace dd::critic {

// Walks the clips of several runs in order, handing out stretches that lie within one run.
class ClipCursor {
 public:
  explicit ClipCursor(const std::vector<ClipRun>& runs) : runs_(runs) {}
  // The next clips, at most `wanted` and all from one run; there must be some left.
  ClipRun Take(int64_t wanted);

 private:
  const std::vector<ClipRun>& runs_;
  size_t run_ = 0;
  int64_t taken_ = 0;  // Clips of runs_[run_] already handed out.
};

// Host clips as a (count, kClipFrames) float32 tensor, without a copy.
at::Tensor HostClipTensor(const ClipRun& clips);

// Copies the cursor's next clips into rows [filled, rows) of `into`, run by run; asynchronously
// from page-locked memory when `non_blocking`.
void CopyClips(ClipCursor& cursor, at::Tensor& into, int64_t filled, int64_t rows,
               bool non_blocking);

}  // namespace dd::critic
