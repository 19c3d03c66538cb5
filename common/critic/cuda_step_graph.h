// Replaying the critic's device work as CUDA graphs. A minibatch step of the critic is a few
// hundred small kernels (MFCC, the network forward and backward, Adam), a scoring forward about a
// hundred; launched one by one from the host they take far longer than the GPU needs to run them.
// Recorded once as a graph, the whole of it is one launch.
//
// The CUDA code is compiled only in builds configured with DD_CUDA=ON, against a CUDA LibTorch;
// elsewhere RunStepsWithCudaGraph and RecordedCudaGraph::Record say so and CudaGraphsBuilt()
// (critic.h) is false. No LibTorch here: the caller's work is an opaque function.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace dd::critic {

// Runs `step` `count` times on CUDA device `device_index`: the first time as usual (which also
// makes every lazy allocation and library set-up a capture must not do), then records it once as
// a graph and replays that for the rest, all on a stream of its own that is ordered after the
// caller's current stream and before the caller's later work.
//
// `step` must keep all of its work on the device (no copies to or from the host, no waits) and
// must read and write only tensors that outlive the call or that it allocates itself; what it
// allocates during the recording lives in the graph's own memory until the call returns.
//
// Returns "" when all `count` steps ran. Otherwise why the graph could not be made or replayed;
// *steps_done then says how many steps did run, so that the caller can finish the rest without a
// graph. A failed recording runs nothing.
std::string RunStepsWithCudaGraph(int device_index, int count, const std::function<void()>& step,
                                  int* steps_done);

// Names a pool of device memory that graphs record into. The zero pool means one of the graph's
// own; another, from NewCudaGraphPool(), can be given to several graphs, which then share it (see
// RecordedCudaGraph::Record). A pool lives while a graph recorded into it does.
struct CudaGraphPool {
  unsigned long long first = 0;
  unsigned long long second = 0;
};
CudaGraphPool NewCudaGraphPool();

// Device work recorded once and kept, to be replayed by later calls (a scoring forward for one
// batch size). `work` is bound by the same rules as RunStepsWithCudaGraph's step; the tensors it
// allocates while being recorded (its result) live in the graph's memory and are rewritten by
// every replay.
class RecordedCudaGraph {
 public:
  // Runs `work` once as usual, then records it, both on a stream of the calling thread's own
  // ordered after the caller's current stream and before its later work. The recording allocates
  // from `pool`; graphs sharing a pool must never be replayed at the same time, and the results of
  // each must be read before another replays (the intermediate buffers of one are free to hold
  // another's; results stay theirs). An exception from the first, ordinary run propagates (out of
  // memory, say); if only the recording fails, returns nullptr and sets *problem.
  static std::unique_ptr<RecordedCudaGraph> Record(int device_index,
                                                   const std::function<void()>& work,
                                                   CudaGraphPool pool, std::string* problem);
  ~RecordedCudaGraph();
  RecordedCudaGraph(const RecordedCudaGraph&) = delete;
  RecordedCudaGraph& operator=(const RecordedCudaGraph&) = delete;

  // Queues the recorded work on the current stream of the device it was recorded on.
  void Replay();

 private:
  struct Impl;
  explicit RecordedCudaGraph(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dd::critic
