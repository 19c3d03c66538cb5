// Replaying a training step as a CUDA graph. A minibatch step of the critic is a few hundred
// small kernels (MFCC, the network forward and backward, Adam); launched one by one from the host
// they take far longer than the GPU needs to run them. Recorded once as a graph, the whole step
// is one launch.
//
// The CUDA code is compiled only in builds configured with DD_CUDA=ON, against a CUDA LibTorch;
// elsewhere RunStepsWithCudaGraph says so and CudaGraphsBuilt() (critic.h) is false. No LibTorch
// here: the caller's step is an opaque function.
#pragma once

#include <functional>
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

}  // namespace dd::critic
