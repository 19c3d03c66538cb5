#include "common/critic/host_clips.h"

#include <algorithm>

#include <torch/torch.h>

namespace dd::critic {

HostClips HostClips::ForDevice(const std::string& device, int64_t capacity) {
  HostClips clips;
  clips.capacity_ = std::max<int64_t>(0, capacity);
  const auto frames = static_cast<size_t>(clips.capacity_ * kClipFrames);
  bool cuda = false;
  try {
    cuda = torch::Device(device).is_cuda() && CudaAvailable();
  } catch (const std::exception&) {
    // Not a device name: the critic will say so; ordinary memory serves meanwhile.
  }
  if (cuda && frames > 0 && clips.capacity_ <= kMaxPageLockedClips) {
    try {
      torch::Tensor pinned =
          torch::empty({static_cast<int64_t>(frames)},
                       torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(true));
      float* data = pinned.data_ptr<float>();
      clips.memory_ = std::shared_ptr<float>(data, [pinned](float*) mutable { pinned.reset(); });
      clips.page_locked_ = true;
      return clips;
    } catch (const std::exception&) {
      // The host's page-locked memory is exhausted or capped.
    }
  }
  clips.memory_ = std::shared_ptr<float>(new float[frames], std::default_delete<float[]>());
  return clips;
}

float* HostClips::Append() {
  if (size_ >= capacity_) return nullptr;
  return memory_.get() + (size_++) * kClipFrames;
}

}  // namespace dd::critic
