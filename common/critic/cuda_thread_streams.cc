#include "common/critic/cuda_thread_streams.h"

#if defined(DD_CUDA)
#include <map>
#include <utility>

#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>

namespace dd::critic {
namespace {

class OwnStreams {
 public:
  OwnStreams() = default;
  OwnStreams(const OwnStreams&) = delete;
  OwnStreams& operator=(const OwnStreams&) = delete;
  ~OwnStreams() {
    for (const auto& [key, stream] : streams_) {
      // Work still queued finishes first (CUDA defers the release); at process exit the driver
      // may already be gone, which is no error worth reporting.
      (void)cudaStreamDestroy(stream);
    }
    (void)cudaGetLastError();
  }

  cudaStream_t Get(c10::DeviceIndex device, ThreadStreamUse use) {
    const auto key = std::make_pair(device, static_cast<int>(use));
    auto found = streams_.find(key);
    if (found != streams_.end()) return found->second;
    const c10::cuda::CUDAGuard device_guard(device);
    cudaStream_t stream = nullptr;
    C10_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    streams_.emplace(key, stream);
    return stream;
  }

 private:
  std::map<std::pair<c10::DeviceIndex, int>, cudaStream_t> streams_;
};

}  // namespace

c10::cuda::CUDAStream ThreadStream(c10::DeviceIndex device, ThreadStreamUse use) {
  thread_local OwnStreams streams;
  return c10::cuda::getStreamFromExternal(streams.Get(device, use), device);
}

}  // namespace dd::critic
#endif
