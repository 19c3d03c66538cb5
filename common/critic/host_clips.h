// Host memory for clips on their way to a critic. Where the critic runs on a CUDA device the
// memory is page-locked, so that Critic::Score's copy to the device is one direct transfer rather
// than the driver staging it through buffers of its own: on an H200, 6.5 us a clip against 21 us
// from ordinary memory (dd_critic_bench --breakdown=1), of a batched score's 37 us. Elsewhere it is
// ordinary memory.
//
// LibTorch stays out of this header, as out of critic.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/critic/critic.h"

namespace dd::critic {

class HostClips {
 public:
  // Page-locked memory is the host's for good once LibTorch's caching host allocator has it (it
  // keeps freed blocks, rounded up to powers of two, for reuse, and they cannot be swapped out):
  // so larger batches than this, rare as they are, get ordinary memory, and what a worker locks
  // stays below its concurrent Score calls x 128 MiB. A batch of 64 gains as much as one of 256.
  static constexpr int64_t kMaxPageLockedClips = 256;

  HostClips() = default;
  HostClips(HostClips&&) = default;
  HostClips& operator=(HostClips&&) = default;
  HostClips(const HostClips&) = delete;
  HostClips& operator=(const HostClips&) = delete;

  // Room for `capacity` clips of kClipFrames samples for a critic on `device` ("cpu", "cuda:N",
  // as Critic::Create takes it). Page-locked for a CUDA device up to kMaxPageLockedClips clips;
  // if none can be had, ordinary memory: slower, not wrong.
  static HostClips ForDevice(const std::string& device, int64_t capacity);

  // The next clip's kClipFrames samples, for the caller to fill; nullptr once full.
  float* Append();

  // The clips appended so far, for Critic::Score.
  ClipRun run() const { return {memory_.get(), size_}; }
  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }
  bool page_locked() const { return page_locked_; }

 private:
  std::shared_ptr<float> memory_;  // Its deleter hands the memory back to where it came from.
  int64_t capacity_ = 0;
  int64_t size_ = 0;
  bool page_locked_ = false;
};

}  // namespace dd::critic
