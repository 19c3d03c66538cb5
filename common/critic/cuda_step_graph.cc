#include "common/critic/cuda_step_graph.h"

#include "common/critic/critic.h"

#if defined(DD_CUDA)
#include <exception>

#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

namespace dd::critic {

#if defined(DD_CUDA)

bool CudaGraphsBuilt() {
  return true;
}

namespace {

// Makes `later` wait for the work queued on `earlier` so far, without blocking the host.
void Order(const c10::cuda::CUDAStream& earlier, const c10::cuda::CUDAStream& later) {
  at::cuda::CUDAEvent queued;
  queued.record(earlier);
  queued.block(later);
}

// Ends a recording that the step broke off, so that the stream can take work again; the graph is
// thrown away. Ending an invalidated capture reports an error, which is the one we expect here.
void AbandonRecording(at::cuda::CUDAGraph& graph) {
  try {
    graph.capture_end();
  } catch (const std::exception&) {
  }
  (void)cudaGetLastError();
}

}  // namespace

std::string RunStepsWithCudaGraph(int device_index, int count, const std::function<void()>& step,
                                  int* steps_done) {
  *steps_done = 0;
  if (count <= 0) return "";
  const auto device = static_cast<c10::DeviceIndex>(device_index);
  const c10::cuda::CUDAGuard device_guard(device);
  const c10::cuda::CUDAStream caller = c10::cuda::getCurrentCUDAStream(device);
  // Recording is not allowed on the default stream.
  const c10::cuda::CUDAStream own = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device);
  Order(caller, own);
  // Outlives the replays it queued and the ordering of the caller's stream after them.
  at::cuda::CUDAGraph graph;
  std::string problem;
  {
    const c10::cuda::CUDAStreamGuard stream_guard(own);
    step();
    *steps_done = 1;
    if (count > 1) {
      try {
        // Thread-local: a worker scores on other threads while it trains, and their allocations
        // and copies must neither fail nor break this recording (global mode forbids them in
        // every thread while any records). The graph's own stream is a non-blocking one, so
        // their work on the default stream does not join it.
        graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
        try {
          step();
        } catch (...) {
          AbandonRecording(graph);
          throw;
        }
        graph.capture_end();
        for (int i = 1; i < count; ++i) {
          graph.replay();
          ++*steps_done;
        }
      } catch (const std::exception& e) {
        problem = std::string("CUDA graph failed, training continues without: ") + e.what();
      }
    }
  }
  Order(own, caller);
  return problem;
}

#else

bool CudaGraphsBuilt() {
  return false;
}

std::string RunStepsWithCudaGraph(int, int, const std::function<void()>&, int* steps_done) {
  *steps_done = 0;
  return "this build has no CUDA graph code (configure with -DDD_CUDA=ON against a CUDA LibTorch)";
}

#endif

}  // namespace dd::critic
