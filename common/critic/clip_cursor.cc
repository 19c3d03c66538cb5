#include "common/critic/clip_cursor.h"

#include <algorithm>

#include <torch/torch.h>

namespace dd::critic {

ClipRun ClipCursor::Take(int64_t wanted) {
  while (taken_ >= runs_[run_].count) {
    ++run_;
    taken_ = 0;
  }
  const int64_t count = std::min(wanted, runs_[run_].count - taken_);
  const ClipRun stretch{runs_[run_].clips + taken_ * kClipFrames, count};
  taken_ += count;
  return stretch;
}

at::Tensor HostClipTensor(const ClipRun& clips) {
  return torch::from_blob(const_cast<float*>(clips.clips), {clips.count, kClipFrames},
                          torch::kFloat32);
}

void CopyClips(ClipCursor& cursor, at::Tensor& into, int64_t filled, int64_t rows,
               bool non_blocking) {
  while (filled < rows) {
    const ClipRun next = cursor.Take(rows - filled);
    into.slice(0, filled, filled + next.count).copy_(HostClipTensor(next), non_blocking);
    filled += next.count;
  }
}

}  // namespace dd::critic
