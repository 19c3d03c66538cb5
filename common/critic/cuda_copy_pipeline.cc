#include "common/critic/cuda_copy_pipeline.h"

#include <exception>

#include <torch/torch.h>

#if defined(DD_CUDA)
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "common/critic/cuda_thread_streams.h"
#endif

namespace dd::critic {

#if defined(DD_CUDA)

void RunCopyPipeline(c10::Device device, int64_t pieces, int64_t piece_rows, int64_t row_length,
                     const std::function<void(int64_t, at::Tensor&)>& fill,
                     const std::function<void(int64_t, const at::Tensor&)>& process) {
  if (pieces <= 0) return;
  const c10::cuda::CUDAGuard device_guard(device);
  const c10::cuda::CUDAStream work = c10::cuda::getCurrentCUDAStream(device.index());
  const c10::cuda::CUDAStream copies = ThreadStream(device.index(), ThreadStreamUse::kCopies);
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  // Allocated for the caller's stream, which waits for every copy into them before it goes on,
  // so the allocator may hand them out again as soon as they are freed.
  const int buffers = pieces > 1 ? 2 : 1;
  at::Tensor staging[2];
  for (int i = 0; i < buffers; ++i)
    staging[i] = torch::empty({piece_rows, row_length}, options);
  at::cuda::CUDAEvent staged[2], consumed[2];
  {
    // The copies start after the caller's work so far (which may have used this memory before).
    at::cuda::CUDAEvent caller_ready;
    caller_ready.record(work);
    caller_ready.block(copies);
  }
  try {
    for (int64_t piece = 0; piece < pieces; ++piece) {
      const int64_t buffer = piece % buffers;
      {
        const c10::cuda::CUDAStreamGuard on_copies(copies);
        consumed[buffer].block(copies);  // Nothing to wait for until the buffer's first use.
        fill(piece, staging[buffer]);
        staged[buffer].record(copies);
      }
      staged[buffer].block(work);
      process(piece, staging[buffer]);
      consumed[buffer].record(work);
    }
  } catch (const std::exception&) {
    copies.synchronize();  // The staging buffers and the host memory go once this returns.
    throw;
  }
}

#else

void RunCopyPipeline(c10::Device device, int64_t pieces, int64_t piece_rows, int64_t row_length,
                     const std::function<void(int64_t, at::Tensor&)>& fill,
                     const std::function<void(int64_t, const at::Tensor&)>& process) {
  if (pieces <= 0) return;
  at::Tensor staging = torch::empty({piece_rows, row_length},
                                    torch::TensorOptions().dtype(torch::kFloat32).device(device));
  // One stream: each fill is queued after the work on the piece before.
  for (int64_t piece = 0; piece < pieces; ++piece) {
    fill(piece, staging);
    process(piece, staging);
  }
}

#endif

}  // namespace dd::critic
