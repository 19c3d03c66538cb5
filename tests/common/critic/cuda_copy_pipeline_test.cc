// RunCopyPipeline: pieces filled and processed in order, each piece's rows what its fill wrote
// (on a GPU with DD_CUDA, through two staging buffers that take turns while copies overlap the
// work; elsewhere one buffer on the CPU), and an exception from the work leaving cleanly.
#include "common/critic/cuda_copy_pipeline.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/critic/critic.h"

namespace dd::critic {
namespace {

// The device each build's pipeline runs on: a CUDA device where the overlapping code is built,
// the CPU where it is not. Empty when the build has that code and no GPU.
std::string PipelineDevice() {
  if (!CudaGraphsBuilt()) return "cpu";
  return CudaAvailable() ? "cuda:0" : "";
}

constexpr int64_t kPieceRows = 4, kRowLength = 5;

// Row r of the whole batch holds r + 0.5 in every column.
torch::Tensor HostRows(int64_t first, int64_t count) {
  return (torch::arange(first, first + count, torch::kFloat32) + 0.5)
      .unsqueeze(1)
      .expand({count, kRowLength})
      .contiguous();
}

TEST(CudaCopyPipelineTest, EveryPieceIsProcessedOnTheRowsItsFillWrote) {
  const std::string name = PipelineDevice();
  if (name.empty()) GTEST_SKIP() << "DD_CUDA build without a CUDA device";
  const torch::Device device(name);
  const int64_t total = 11;  // Pieces of 4, 4 and 3 rows.
  const int64_t pieces = (total + kPieceRows - 1) / kPieceRows;
  std::vector<torch::Tensor> host;  // Kept until the results are read back.
  torch::Tensor out =
      torch::full({total, kRowLength}, -1.0f, torch::TensorOptions().device(device));
  std::vector<std::string> calls;
  RunCopyPipeline(
      device, pieces, kPieceRows, kRowLength,
      [&](int64_t piece, at::Tensor& staging) {
        calls.push_back("fill " + std::to_string(piece));
        EXPECT_EQ(staging.size(0), kPieceRows);
        EXPECT_EQ(staging.size(1), kRowLength);
        EXPECT_EQ(staging.device(), device);
        const int64_t first = piece * kPieceRows;
        const int64_t rows = std::min(kPieceRows, total - first);
        host.push_back(HostRows(first, rows));
        staging.slice(0, 0, rows).copy_(host.back(), /*non_blocking=*/true);
      },
      [&](int64_t piece, const at::Tensor& staged) {
        calls.push_back("process " + std::to_string(piece));
        const int64_t first = piece * kPieceRows;
        const int64_t rows = std::min(kPieceRows, total - first);
        // Some work on the device before the result lands, so a refill too early would show.
        out.slice(0, first, first + rows).copy_(staged.slice(0, 0, rows).mul(3.0).div(3.0));
      });
  EXPECT_EQ(calls, (std::vector<std::string>{"fill 0", "process 0", "fill 1", "process 1", "fill 2",
                                             "process 2"}));
  EXPECT_TRUE(torch::equal(out.cpu(), HostRows(0, total)));
}

TEST(CudaCopyPipelineTest, NothingToDoCallsNothing) {
  const std::string name = PipelineDevice();
  if (name.empty()) GTEST_SKIP() << "DD_CUDA build without a CUDA device";
  int calls = 0;
  RunCopyPipeline(
      torch::Device(name), 0, kPieceRows, kRowLength, [&](int64_t, at::Tensor&) { ++calls; },
      [&](int64_t, const at::Tensor&) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(CudaCopyPipelineTest, AnExceptionFromTheWorkLeavesAndStopsThePipeline) {
  const std::string name = PipelineDevice();
  if (name.empty()) GTEST_SKIP() << "DD_CUDA build without a CUDA device";
  const torch::Device device(name);
  const torch::Tensor rows = HostRows(0, kPieceRows);
  int processed = 0;
  EXPECT_THROW(RunCopyPipeline(
                   device, 3, kPieceRows, kRowLength,
                   [&](int64_t, at::Tensor& staging) { staging.copy_(rows, true); },
                   [&](int64_t piece, const at::Tensor&) {
                     ++processed;
                     if (piece == 1) throw std::runtime_error("work failed");
                   }),
               std::runtime_error);
  EXPECT_EQ(processed, 2) << "no piece after the one that failed";
  // The device goes on working.
  EXPECT_EQ(torch::ones({3}, torch::TensorOptions().device(device)).sum().item<float>(), 3.0f);
}

}  // namespace
}  // namespace dd::critic
