// Streams of the calling thread's own, for recording graphs and for copies. LibTorch's pool hands
// its 32 streams out in turn to every thread, so two threads can get the same one; a recording
// captures whatever any thread queues on its stream, so a scoring thread's copy landing on a
// training thread's recording stream would join that graph (or break it). A stream made for one
// thread is never shared. Only in DD_CUDA builds.
#pragma once

#if defined(DD_CUDA)
#include <c10/cuda/CUDAStream.h>

namespace dd::critic {

enum class ThreadStreamUse { kRecording, kCopies };

// The calling thread's stream for `use` on `device`, made at its first use (non-blocking, so
// that work on the legacy default stream does not join it) and destroyed with the thread.
c10::cuda::CUDAStream ThreadStream(c10::DeviceIndex device, ThreadStreamUse use);

}  // namespace dd::critic
#endif
