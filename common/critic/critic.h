// One user's critic: the network, its Adam state, its rated clips and its random stream, trained
// incrementally after each rating as the original did. Not thread-safe: callers serialise access.
//
// The header keeps LibTorch out of its includes so that services and the storage layer compile
// fast; only critic.cc and its siblings see torch.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/critic/critic_config.h"
#include "common/critic/training_precision.h"

namespace dd::critic {

// The serialized state of a critic at one version.
struct CriticState {
  std::string model;      // Parameters and batch-norm buffers (LibTorch archive).
  std::string optimizer;  // Adam moments; empty for a score-only copy.
  std::string rng;        // Random stream, so a restored critic continues exactly where it was.
};

// One rated clip, kClipFrames float samples at 44.1 kHz.
struct RatedClip {
  std::vector<float> audio;
  bool liked = false;
};

// GPU memory that the scoring graphs of many critics on one device share (RunOptions): the input
// every graph reads and one pool for their intermediate buffers and results. Without it each
// critic that has scored a batch of 64 keeps ~110-150 MB of its own (estimated from the forward's
// tensors); with it a worker's device holds about that much whatever number of critics it keeps.
// Critics sharing it score one at a time: the device part of a Score call holds its lock.
// Opaque; made by NewSharedScoringMemory().
struct SharedScoringMemory;
std::shared_ptr<SharedScoringMemory> NewSharedScoringMemory();

// How a worker runs a critic. Like the device, a worker's choice and not part of the critic's
// state: any worker can take a critic over, whatever trained it.
struct RunOptions {
  TrainingPrecision precision = TrainingPrecision::kFloat32;  // training_precision.h
  // On a CUDA device, run each round's first minibatch step as usual, record the step once as a
  // CUDA graph and replay that for the rest of the round: a step is hundreds of small kernels,
  // and launching them one by one costs more than running them. Scoring likewise records its
  // forward once per power-of-two batch size up to 64, kept for the critic's life. Needs a build
  // with DD_CUDA (CudaGraphsBuilt()); ignored on the CPU. If a capture fails, the critic says why
  // (cuda_graph_problem()) and trains and scores without graphs from then on.
  bool cuda_graphs = true;
  // Where the scoring graphs keep their memory: shared with other critics, or (null) the
  // critic's own.
  std::shared_ptr<SharedScoringMemory> scoring_memory = nullptr;
};

// `count` clips stored back to back from `clips` (count * kClipFrames samples), not owned.
struct ClipRun {
  const float* clips = nullptr;
  int64_t count = 0;
};

struct TrainingRound {
  bool trained = false;  // False while only one class has been seen.
  double mean_loss = 0;  // Mean minibatch NLL loss of the round, when trained.
};

class Critic {
 public:
  // A fresh critic with weights drawn from config.seed. `device` is "cpu" or "cuda[:N]".
  // Returns nullptr and sets *error when the config or device is unusable.
  static std::unique_ptr<Critic> Create(const CriticConfig& config, const std::string& device,
                                        std::string* error, const RunOptions& options = {});
  // A critic as it was saved, with the clips it was trained on so far (in rating order). With an
  // empty state.optimizer the critic can score but not train.
  static std::unique_ptr<Critic> Restore(const CriticConfig& config, const std::string& device,
                                         const CriticState& state, std::vector<RatedClip> clips,
                                         std::string* error, const RunOptions& options = {});
  ~Critic();
  Critic(const Critic&) = delete;
  Critic& operator=(const Critic&) = delete;

  // Adds a rated clip (kClipFrames samples) and runs one training round over all clips so far.
  // Throws std::exception when LibTorch fails while running (the device out of memory, a stored
  // state that does not fit the network: DescribeFailure); the critic is then half-trained and
  // must be dropped.
  TrainingRound AddRatingAndTrain(const std::vector<float>& clip, bool liked);
  // P(like) for `count` clips stored back to back (count * kClipFrames samples). Throws as
  // AddRatingAndTrain does; the critic is unchanged. The first Score after a training round (or
  // after Create or Restore) first folds the weights for scoring (folded_critic_net.h).
  std::vector<float> Score(const float* clips, int64_t count);
  // The same for the clips of several runs, in order, as one batch, without gathering them on the
  // host first: on a GPU each run is copied straight to its place in the device's batch, directly
  // from page-locked runs (HostClips), a piece's copy overlapping the work on the piece before.
  std::vector<float> Score(const std::vector<ClipRun>& runs);

  CriticState SaveState() const;
  bool can_train() const;
  int liked_count() const;
  int disliked_count() const;
  int64_t parameter_count() const;
  const CriticConfig& config() const;
  std::string device() const;
  TrainingPrecision training_precision() const;
  // Whether the next rounds and scores will replay CUDA graphs (RunOptions::cuda_graphs on a
  // CUDA device of a DD_CUDA build, and no capture has failed yet).
  bool uses_cuda_graphs() const;
  // Empty, or why a capture failed and this critic went back to launching kernels one by one.
  std::string cuda_graph_problem() const;

 private:
  struct Impl;
  explicit Critic(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Whether LibTorch was built with CUDA and sees at least one device.
bool CudaAvailable();

// Whether this build can capture training steps as CUDA graphs (configured with DD_CUDA=ON).
bool CudaGraphsBuilt();

// What a caller needs to know of an exception from training or scoring.
struct RuntimeFailure {
  bool out_of_memory = false;  // The device (or host) ran out of memory: worth retrying later.
  std::string message;         // LibTorch's message, without its C++ backtrace.
};
RuntimeFailure DescribeFailure(const std::exception& failure);

// Empty when critics can run on `device` ("cpu" or "cuda[:N]"), otherwise why not.
std::string CheckDevice(const std::string& device);

// Process-wide CPU settings for critic work; call once at start-up, before any critic runs.
// `threads` <= 0 means one per hardware thread (LibTorch otherwise may default to 1). Also keeps
// large tensor buffers in the heap instead of fresh mmaps, on whichever thread trains: a training
// step allocates ~13 MB activations dozens of times, and page-faulting them in cost a quarter of
// the step.
void ConfigureCpuRuntime(int threads);

// Process-wide GPU settings for critic work; call once at start-up on a GPU worker.
// `cudnn_benchmark`: cuDNN times its convolution algorithms once for each input shape and keeps
// the fastest, instead of taking its heuristics' pick; on an H200 the critic's convolutions then
// took about half the time (dd_critic_bench --cudnn_benchmark=0/1). The shapes are few: the
// training minibatch and, with CUDA graphs, the seven scoring batch sizes.
void ConfigureCudaRuntime(bool cudnn_benchmark);

}  // namespace dd::critic
