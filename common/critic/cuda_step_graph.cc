#include "common/critic/cuda_step_graph.h"

#include "common/critic/critic.h"
#include "common/critic/cuda_thread_streams.h"

#if defined(DD_CUDA)
#include <exception>

#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#include <torch/torch.h>
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

// Orders `caller` after the work queued on `own` when it goes out of scope, however the steps
// ended: tensors the caller frees afterwards may still be read by that work.
class RejoinOnExit {
 public:
  RejoinOnExit(const c10::cuda::CUDAStream& own, const c10::cuda::CUDAStream& caller)
      : own_(own), caller_(caller) {}
  ~RejoinOnExit() {
    try {
      Order(own_, caller_);
    } catch (const std::exception&) {
      // A device too broken to record an event fails the caller's next call anyway.
    }
  }
  RejoinOnExit(const RejoinOnExit&) = delete;
  RejoinOnExit& operator=(const RejoinOnExit&) = delete;

 private:
  c10::cuda::CUDAStream own_, caller_;
};

// Ends `stream`'s recording, if one is open, and throws the partial graph away.
void EndAnyRecording(cudaStream_t stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &status) == cudaSuccess &&
      status != cudaStreamCaptureStatusNone) {
    cudaGraph_t partial = nullptr;
    // Ending an invalidated recording reports an error: the one expected here.
    (void)cudaStreamEndCapture(stream, &partial);
    if (partial != nullptr) (void)cudaGraphDestroy(partial);
  }
  (void)cudaGetLastError();
}

// LibTorch's CUDA graph, with a way out of a recording that failed. capture_end() checks
// cudaStreamEndCapture before it hands the random number generators back to eager use, so after a
// broken recording every later random draw in the process failed ("Offset increment outside
// graph capture encountered unexpectedly", seen on an H200 with LibTorch 2.11). The generators'
// own way back (capture_epilogue) is not exported from libtorch_cuda, so HandBackGenerators()
// makes one throwaway recording of one small kernel, whose normal end hands them back.
class RecordingGraph : public at::cuda::CUDAGraph {
 public:
  // Records `work` on the current stream, allocating from `pool` ({0, 0}: a pool of its own).
  // Throws what the work or the end of the recording threw, with the recording abandoned and the
  // generators handed back.
  void Record(const std::function<void()>& work, c10::cuda::MempoolId_t pool) {
    // Thread-local: a worker scores on other threads while it trains, and their allocations and
    // copies must neither fail nor break this recording (global mode forbids them in every thread
    // while any records). The recording stream is a non-blocking one of this thread's own, so
    // their work does not join it.
    capture_begin(pool, cudaStreamCaptureModeThreadLocal);
    try {
      work();
    } catch (...) {
      Abandon();
      throw;
    }
    try {
      capture_end();
    } catch (...) {
      HandBackGenerators();
      throw;
    }
  }

  // For a step that threw while being recorded: ends the recording and hands the generators
  // back. The graph's memory pool stays reserved (releasing it here could release it twice, in
  // the destructor too, depending on LibTorch's version): one pool per critic at most, since a
  // critic whose recording failed trains without graphs from then on.
  void Abandon() {
    c10::cuda::CUDACachingAllocator::endAllocateToPool(capture_dev_, mempool_id_);
    HandBackGenerators();
  }

  // Also for a capture_end() that threw (the recording had been invalidated).
  void HandBackGenerators() {
    EndAnyRecording(capture_stream_);
    at::cuda::CUDAGraph handback;
    try {
      handback.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
      torch::empty({1}, torch::TensorOptions().device(
                            at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(capture_dev_))))
          .fill_(0);
      handback.capture_end();
    } catch (const std::exception&) {
      EndAnyRecording(capture_stream_);
      throw;
    }
  }
};

}  // namespace

std::string RunStepsWithCudaGraph(int device_index, int count, const std::function<void()>& step,
                                  int* steps_done) {
  *steps_done = 0;
  if (count <= 0) return "";
  const auto device = static_cast<c10::DeviceIndex>(device_index);
  const c10::cuda::CUDAGuard device_guard(device);
  const c10::cuda::CUDAStream caller = c10::cuda::getCurrentCUDAStream(device);
  // Recording is not allowed on the default stream; nor may another thread's work land on it.
  const c10::cuda::CUDAStream own = ThreadStream(device, ThreadStreamUse::kRecording);
  Order(caller, own);
  // Outlives the replays it queued and the ordering of the caller's stream after them.
  RecordingGraph graph;
  const RejoinOnExit rejoin(own, caller);
  std::string problem;
  {
    const c10::cuda::CUDAStreamGuard stream_guard(own);
    step();
    *steps_done = 1;
    if (count > 1) {
      try {
        graph.Record(step, {0, 0});
        for (int i = 1; i < count; ++i) {
          graph.replay();
          ++*steps_done;
        }
      } catch (const std::exception& e) {
        problem = std::string("CUDA graph failed, training continues without: ") + e.what();
      }
    }
  }
  return problem;
}

CudaGraphPool NewCudaGraphPool() {
  const c10::cuda::MempoolId_t id = at::cuda::graph_pool_handle();
  return {id.first, id.second};
}

struct RecordedCudaGraph::Impl {
  RecordingGraph graph;
};

std::unique_ptr<RecordedCudaGraph> RecordedCudaGraph::Record(int device_index,
                                                             const std::function<void()>& work,
                                                             CudaGraphPool pool,
                                                             std::string* problem) {
  const auto device = static_cast<c10::DeviceIndex>(device_index);
  const c10::cuda::CUDAGuard device_guard(device);
  const c10::cuda::CUDAStream caller = c10::cuda::getCurrentCUDAStream(device);
  const c10::cuda::CUDAStream own = ThreadStream(device, ThreadStreamUse::kRecording);
  Order(caller, own);
  const RejoinOnExit rejoin(own, caller);
  const c10::cuda::CUDAStreamGuard stream_guard(own);
  work();
  std::unique_ptr<RecordedCudaGraph> recorded(new RecordedCudaGraph(std::make_unique<Impl>()));
  RecordingGraph& graph = recorded->impl_->graph;
  try {
    graph.Record(work, {pool.first, pool.second});
  } catch (const std::exception& e) {
    *problem = e.what();
    return nullptr;
  }
  return recorded;
}

void RecordedCudaGraph::Replay() {
  impl_->graph.replay();
}

#else

bool CudaGraphsBuilt() {
  return false;
}

constexpr char kNoGraphCode[] =
    "this build has no CUDA graph code (configure with -DDD_CUDA=ON against a CUDA LibTorch)";

CudaGraphPool NewCudaGraphPool() {
  return {};
}

struct RecordedCudaGraph::Impl {};

std::unique_ptr<RecordedCudaGraph> RecordedCudaGraph::Record(int, const std::function<void()>&,
                                                             CudaGraphPool, std::string* problem) {
  *problem = kNoGraphCode;
  return nullptr;
}

void RecordedCudaGraph::Replay() {}

std::string RunStepsWithCudaGraph(int, int, const std::function<void()>&, int* steps_done) {
  *steps_done = 0;
  return kNoGraphCode;
}

#endif

RecordedCudaGraph::RecordedCudaGraph(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RecordedCudaGraph::~RecordedCudaGraph() = default;

}  // namespace dd::critic
