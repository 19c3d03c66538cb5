// Scoring a batch on a GPU means copying its clips there (353 KB each: ~6.5 us a clip from
// page-locked memory on an H200) and then running the MFCC and the network on them. Done one
// after the other the copy adds to the work; done in pieces on two streams, the copy of the next
// piece runs while the device works on the one before.
//
// The overlap needs the CUDA code of a DD_CUDA build; elsewhere the pieces go one after the
// other on the current stream, with the same results.
#pragma once

#include <cstdint>
#include <functional>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace dd::critic {

// For each of `pieces` pieces in order: fill(piece, staging) queues the copies of that piece's
// rows into `staging` (`piece_rows` x `row_length` float32 on `device`; the first rows, as many
// as the piece has), with a stream of the pipeline's own current; then process(piece, staging)
// queues the work on them on the caller's current stream, ordered after those copies. Two
// staging buffers take turns, and a buffer is filled again only once the work queued on it is
// done.
//
// Copies queued as non-blocking from page-locked memory overlap the work; from ordinary memory
// they are synchronous for the host, still right. The host memory must stay until the caller's
// stream has done the work (a copy of the results back to the host waits for it). If fill or
// process throws, the copies already queued are waited for before the exception leaves.
void RunCopyPipeline(c10::Device device, int64_t pieces, int64_t piece_rows, int64_t row_length,
                     const std::function<void(int64_t piece, at::Tensor& staging)>& fill,
                     const std::function<void(int64_t piece, const at::Tensor& staged)>& process);

}  // namespace dd::critic
