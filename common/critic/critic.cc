#include "common/critic/critic.h"

#include <malloc.h>

#include <algorithm>
#include <array>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>
#include <torch/optim/adam.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include "common/critic/bfloat16_autocast.h"
#include "common/critic/clip_cursor.h"
#include "common/critic/counter_random.h"
#include "common/critic/critic_net.h"
#include "common/critic/cuda_copy_pipeline.h"
#include "common/critic/cuda_step_graph.h"
#include "common/critic/folded_critic_net.h"
#include "common/critic/fused_adam.h"
#include "common/critic/mfcc.h"
#include "common/critic/step_onsets.h"

namespace dd::critic {
namespace {

// On the CPU clips are scored 16 at a time, which keeps the activations in cache (a 64-clip chunk
// was slower per clip than one).
constexpr int64_t kScoreChunk = 16;
// On a GPU, pieces of the copy pipeline (cuda_copy_pipeline.h), so that a large batch neither
// takes all device memory at once nor waits for all of its copies before the work starts. With
// CUDA graphs, batches up to kScoreGraphBatch are padded to the next power of two and replay that
// size's graph (seven graphs at most, sharing their memory); larger ones go in pieces of it.
constexpr int64_t kDeviceScorePiece = 256;
constexpr int64_t kScoreGraphBatch = 64;
constexpr int kScoreGraphSizes = 7;  // 1, 2, 4, ..., 64.

MfccOptions MfccFor(const CriticConfig& config) {
  MfccOptions options;
  options.mel_sample_rate = config.mel_sample_rate;
  return options;
}

int64_t TimeFrames(const MfccOptions& options) {
  return 1 + kClipFrames / options.hop_length;
}

std::optional<torch::Device> ParseDevice(const std::string& text, std::string* error) {
  try {
    torch::Device device(text);
    if (device.is_cpu()) return device;
    if (device.is_cuda()) {
      if (!CudaAvailable()) {
        *error = "device " + text + " requested but LibTorch has no CUDA or sees no GPU";
        return std::nullopt;
      }
      const int index = device.has_index() ? device.index() : 0;
      if (index >= static_cast<int>(torch::cuda::device_count())) {
        *error = "device " + text + " does not exist (" +
                 std::to_string(torch::cuda::device_count()) + " CUDA devices)";
        return std::nullopt;
      }
      return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
    }
    *error = "device must be cpu or cuda[:N], got " + text;
  } catch (const std::exception&) {
    *error = "device must be cpu or cuda[:N], got " + text;
  }
  return std::nullopt;
}

// Bytes of whatever `write` puts into a LibTorch archive, and the way back.
std::string ArchiveBytes(const std::function<void(torch::serialize::OutputArchive&)>& write) {
  torch::serialize::OutputArchive archive;
  write(archive);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

void ReadArchive(const std::string& bytes, torch::Device device,
                 const std::function<void(torch::serialize::InputArchive&)>& read) {
  torch::serialize::InputArchive archive;
  std::istringstream in(bytes);
  archive.load_from(in, device);
  read(archive);
}

}  // namespace

struct SharedScoringMemory {
  std::mutex mutex;     // Held by a critic for the device part of a Score call with graphs.
  torch::Tensor input;  // (kScoreGraphBatch, kClipFrames), made at the first recording.
  CudaGraphPool pool;   // Made at the first recording.
};

std::shared_ptr<SharedScoringMemory> NewSharedScoringMemory() {
  return std::make_shared<SharedScoringMemory>();
}

bool CudaAvailable() {
  return torch::cuda::is_available();
}

RuntimeFailure DescribeFailure(const std::exception& failure) {
  RuntimeFailure described;
  described.out_of_memory = dynamic_cast<const c10::OutOfMemoryError*>(&failure) != nullptr ||
                            dynamic_cast<const std::bad_alloc*>(&failure) != nullptr;
  const auto* torch_error = dynamic_cast<const c10::Error*>(&failure);
  described.message = torch_error ? torch_error->what_without_backtrace() : failure.what();
  return described;
}

std::string CheckDevice(const std::string& device) {
  std::string error;
  ParseDevice(device, &error);
  return error;
}

void ConfigureCpuRuntime(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum.
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  // One arena for every thread. A thread other than main gets its own arena, made of 64 MB heaps;
  // a training step's live activations outgrow one, so heaps were mapped, faulted in and unmapped
  // every step. In the critic service, where Train runs on gRPC handler threads, that was 236,000
  // page faults per rating and 3.1-3.4 s instead of 2.8-3.2 s; the main arena keeps its memory. The
  // process's other allocations are few and small beside the tensors, so sharing costs nothing
  // measurable.
  mallopt(M_ARENA_MAX, 1);
}

void ConfigureCudaRuntime(bool cudnn_benchmark) {
  at::globalContext().setBenchmarkCuDNN(cudnn_benchmark);
}

struct Critic::Impl {
  Impl(const CriticConfig& config, torch::Device device, const RunOptions& options)
      : config(config),
        device(device),
        options(options),
        mfcc(MfccFor(config), device),
        net(MfccOptions().n_mfcc, TimeFrames(MfccFor(config)),
            config.rhythm_branch ? kRhythmFeatures : 0),
        random(at::make_generator<at::CPUGeneratorImpl>(config.seed)),
        scoring_memory(options.scoring_memory ? options.scoring_memory : NewSharedScoringMemory()) {
    net->to(device);
    const auto clip_options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
    liked = torch::empty({0, kClipFrames}, clip_options);
    disliked = torch::empty({0, kClipFrames}, clip_options);
    if (config.rhythm_branch) {
      rhythm_windows = StepOnsetWindows(mfcc.options().hop_length, kClipFrames, device);
    }
  }

  void MakeOptimizer() {
    const torch::optim::AdamOptions defaults =
        torch::optim::AdamOptions(config.learning_rate).weight_decay(config.weight_decay);
    if (config.rhythm_learning_rate == 0 || !config.rhythm_branch) {
      optimizer = std::make_unique<torch::optim::Adam>(net->parameters(), defaults);
      return;
    }
    // Two groups: the rhythm branch's layers at their own rate, everything else at the paper's.
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(net->NonRhythmParameters());
    groups.emplace_back(net->RhythmParameters(),
                        std::make_unique<torch::optim::AdamOptions>(
                            torch::optim::AdamOptions(config.rhythm_learning_rate)
                                .weight_decay(config.weight_decay)));
    optimizer = std::make_unique<torch::optim::Adam>(std::move(groups), defaults);
  }

  // Gain, DC offset and shift per clip and noise per sample, in the original's order. Written as
  // in-place passes over one fresh buffer, and the shift as two row copies per clip: on the CPU
  // an index tensor for a gather cost more than the rest of the augmentation. For the CPU: the
  // draws come from our seeded stream on the host.
  torch::Tensor Augment(const torch::Tensor& batch) {
    const int64_t clips = batch.size(0);
    const auto cpu = torch::TensorOptions().dtype(torch::kFloat32);
    torch::Tensor gain = 1.0 + config.augment_gain_stddev * torch::randn({clips, 1}, random, cpu);
    torch::Tensor offset = config.augment_dc_offset_stddev * torch::randn({clips, 1}, random, cpu);
    torch::Tensor shift = torch::randint(0, config.augment_max_shift, {clips}, random,
                                         torch::TensorOptions().dtype(torch::kInt64));
    torch::Tensor mixed = CounterNormal(batch.sizes(), DrawSeed(random));
    mixed.mul_(config.augment_noise_stddev).add_(offset).addcmul_(batch, gain);
    // Circular shift right by s: out[t] = in[(t - s) mod T].
    torch::Tensor out = torch::empty_like(mixed);
    const int64_t* shifts = shift.data_ptr<int64_t>();
    for (int64_t i = 0; i < clips; ++i) {
      const int64_t s = shifts[i];
      torch::Tensor from = mixed[i], to = out[i];
      to.slice(0, s).copy_(from.slice(0, 0, kClipFrames - s));
      if (s > 0) to.slice(0, 0, s).copy_(from.slice(0, kClipFrames - s));
    }
    return out;
  }

  // Log-probabilities (float32) for a batch of clips (batch, kClipFrames) on the device, through
  // the network as training runs it (scoring goes through Like). The features are float32
  // always; the network runs in bfloat16 when `autocast` is set.
  torch::Tensor Forward(const torch::Tensor& audio, double dropout_p,
                        c10::optional<at::Generator> generator, bool autocast = false) {
    const auto [features, rhythm] = Features(audio);
    BFloat16Autocast scope(device, autocast);
    return net->forward(features, rhythm, dropout_p, std::move(generator)).to(torch::kFloat32);
  }

  // The network's inputs for `audio`: the MFCC image and, with a rhythm branch, its features.
  std::pair<torch::Tensor, torch::Tensor> Features(const torch::Tensor& audio) {
    torch::Tensor mel_db = mfcc.MelDb(audio);
    torch::Tensor rhythm;
    if (config.rhythm_branch) {
      rhythm = RhythmFeatures(mel_db, mfcc.options().hop_length, kClipFrames, rhythm_windows);
    }
    return {mfcc.FromMelDb(mel_db), rhythm};
  }

  torch::Tensor Draw(const torch::Tensor& clips, int64_t count) {
    torch::Tensor order =
        torch::randperm(clips.size(0), random, torch::TensorOptions().dtype(torch::kInt64));
    return clips.index_select(0, order.slice(0, 0, count));
  }

  // The same augmentation and draws for a GPU, with every random number drawn on the device and
  // no copy from the host, so that a step can be recorded as a CUDA graph; the shift is one
  // gather.
  torch::Tensor AugmentOnDevice(const torch::Tensor& batch) {
    const int64_t clips = batch.size(0);
    const auto options = batch.options();
    torch::Tensor gain =
        torch::randn({clips, 1}, options).mul_(config.augment_gain_stddev).add_(1.0);
    torch::Tensor offset = torch::randn({clips, 1}, options).mul_(config.augment_dc_offset_stddev);
    torch::Tensor shift =
        torch::randint(0, config.augment_max_shift, {clips, 1}, options.dtype(torch::kInt64));
    torch::Tensor mixed = torch::randn(batch.sizes(), options);
    mixed.mul_(config.augment_noise_stddev).add_(offset).addcmul_(batch, gain);
    // Circular shift right by s: out[t] = in[(t - s) mod T].
    torch::Tensor source =
        (torch::arange(kClipFrames, options.dtype(torch::kInt64)).unsqueeze(0) - shift)
            .remainder_(kClipFrames);
    return mixed.gather(1, source);
  }

  // `count` different clips in random order: the first of a random permutation, drawn on the
  // device.
  torch::Tensor DrawOnDevice(const torch::Tensor& clips, int64_t count) {
    torch::Tensor order = torch::rand({clips.size(0)}, clips.options()).argsort();
    return clips.index_select(0, order.slice(0, 0, count));
  }

  // One minibatch step on a GPU: nothing in it reads from or waits for the device.
  void DeviceStep(int64_t half, const torch::Tensor& labels, FusedAdam& adam,
                  torch::Tensor& loss_sum) {
    torch::Tensor batch =
        AugmentOnDevice(torch::cat({DrawOnDevice(liked, half), DrawOnDevice(disliked, half)}));
    torch::Tensor log_probs = Forward(batch, config.dropout, c10::nullopt,
                                      options.precision == TrainingPrecision::kBFloat16);
    torch::Tensor loss = torch::nll_loss(log_probs, labels);
    // Fresh gradients each step rather than zeroed ones: the step recorded in a graph then
    // writes them where its replays will.
    for (torch::Tensor& parameter : net->parameters())
      parameter.mutable_grad().reset();
    loss.backward();
    adam.Step();
    loss_sum.add_(loss.detach());
  }

  bool UsesCudaGraphs() const {
    return device.is_cuda() && options.cuda_graphs && CudaGraphsBuilt() &&
           cuda_graph_problem.empty();
  }

  void TrainOnDevice(int64_t half, const torch::Tensor& labels, torch::Tensor& loss_sum) {
    FusedAdam adam(*optimizer);
    const auto step = [&] { DeviceStep(half, labels, adam, loss_sum); };
    const int steps = config.minibatches_per_rating;
    int done = 0;
    if (UsesCudaGraphs())
      cuda_graph_problem = RunStepsWithCudaGraph(device.index(), steps, step, &done);
    for (; done < steps; ++done)
      step();
    adam.Finish();
    // The gradients of a recorded step live in the graph's memory, which they would keep.
    for (torch::Tensor& parameter : net->parameters())
      parameter.mutable_grad().reset();
  }

  TrainingRound Train() {
    TrainingRound round;
    const int64_t half =
        std::min<int64_t>({config.minibatch_size / 2, liked.size(0), disliked.size(0)});
    if (half == 0 || config.minibatches_per_rating == 0) return round;
    const auto label_options = torch::TensorOptions().dtype(torch::kInt64).device(device);
    torch::Tensor labels =
        torch::cat({torch::ones({half}, label_options), torch::zeros({half}, label_options)});
    net->train();
    scoring_net_current = false;
    torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().device(device));
    if (device.is_cuda()) {
      TrainOnDevice(half, labels, loss_sum);
    } else {
      for (int step = 0; step < config.minibatches_per_rating; ++step) {
        torch::Tensor batch = Augment(torch::cat({Draw(liked, half), Draw(disliked, half)}));
        torch::Tensor log_probs = Forward(batch, config.dropout, random,
                                          options.precision == TrainingPrecision::kBFloat16);
        torch::Tensor loss = torch::nll_loss(log_probs, labels);
        optimizer->zero_grad();
        loss.backward();
        optimizer->step();
        loss_sum += loss.detach();
      }
    }
    round.trained = true;
    round.mean_loss = loss_sum.item<double>() / config.minibatches_per_rating;
    return round;
  }

  // A recorded scoring forward for one batch size.
  struct ScoreGraph {
    std::unique_ptr<RecordedCudaGraph> recorded;
    torch::Tensor like;  // (batch) P(like), rewritten by each replay.
  };

  std::vector<float> ScoreOnCpu(const std::vector<ClipRun>& runs, int64_t total) {
    std::vector<float> scores;
    scores.reserve(static_cast<size_t>(total));
    ClipCursor cursor(runs);
    while (static_cast<int64_t>(scores.size()) < total) {
      const int64_t n = std::min(kScoreChunk, total - static_cast<int64_t>(scores.size()));
      const ClipRun first = cursor.Take(n);
      torch::Tensor audio;
      if (first.count == n) {
        audio = HostClipTensor(first);  // Used where they are.
      } else {
        audio = torch::empty({n, kClipFrames});
        audio.slice(0, 0, first.count).copy_(HostClipTensor(first));
        CopyClips(cursor, audio, first.count, n, /*non_blocking=*/false);
      }
      torch::Tensor like = Like(audio).contiguous();
      scores.insert(scores.end(), like.data_ptr<float>(), like.data_ptr<float>() + n);
    }
    return scores;
  }

  // Each run's clips are copied straight to their place in the device's batch: asynchronously
  // from page-locked memory (HostClips), which the caller keeps until this returns; reading the
  // scores back waits for the copies.
  std::vector<float> ScoreOnDevice(const std::vector<ClipRun>& runs, int64_t total) {
    // The graphs read and write memory other critics' graphs may share.
    std::unique_lock<std::mutex> graphs_lock;
    if (UsesCudaGraphs()) graphs_lock = std::unique_lock<std::mutex>(scoring_memory->mutex);
    const int64_t piece = UsesCudaGraphs() ? kScoreGraphBatch : kDeviceScorePiece;
    const int64_t pieces = (total + piece - 1) / piece;
    torch::Tensor like =
        torch::empty({total}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
    ClipCursor cursor(runs);
    RunCopyPipeline(
        device, pieces, std::min(piece, total), kClipFrames,
        [&](int64_t index, torch::Tensor& staging) {
          CopyClips(cursor, staging, 0, std::min(piece, total - index * piece),
                    /*non_blocking=*/true);
        },
        [&](int64_t index, const torch::Tensor& staged) {
          const int64_t first = index * piece;
          const int64_t rows = std::min(piece, total - first);
          like.slice(0, first, first + rows).copy_(LikeOnDevice(staged.slice(0, 0, rows)));
        });
    const torch::Tensor on_host = like.to(torch::kCPU);
    return std::vector<float>(on_host.data_ptr<float>(), on_host.data_ptr<float>() + total);
  }

  // P(like) of `audio` (count, kClipFrames) on the device, left on the device: from the graph of
  // the next power of two (whose result the caller reads before the next replay), or launched
  // kernel by kernel.
  torch::Tensor LikeOnDevice(const torch::Tensor& audio) {
    const int64_t count = audio.size(0);
    if (UsesCudaGraphs() && count <= kScoreGraphBatch) {
      if (const ScoreGraph* graph = ScoreGraphFor(count)) {
        scoring_memory->input.slice(0, 0, count).copy_(audio);
        graph->recorded->Replay();
        return graph->like.slice(0, 0, count);
      }
    }
    return Like(audio);
  }

  // P(like) of each clip of `audio` (count, kClipFrames) on the device: the network in eval use,
  // its batch norms folded (PrepareScoringNet first).
  torch::Tensor Like(const torch::Tensor& audio) {
    const auto [features, rhythm] = Features(audio);
    return scoring_net->Forward(features, rhythm).select(1, 1).exp();
  }

  // The folded copy of the weights, made or refreshed in place if training or loading changed
  // them since; in place, so the scoring graphs that read it stay valid.
  void PrepareScoringNet() {
    if (!scoring_net) {
      scoring_net.emplace(*net);
    } else if (!scoring_net_current) {
      scoring_net->Refresh(*net);
    }
    scoring_net_current = true;
  }

  // The graph that scores `count` clips, padded to a power of two, recorded at its first use;
  // nullptr if the recording failed (the critic then goes on without graphs). The padding rows
  // hold zeros or earlier clips: every clip is scored on its own (batch norm in eval mode), so
  // they change nothing but their own rows.
  const ScoreGraph* ScoreGraphFor(int64_t count) {
    int size_index = 0;
    while ((int64_t{1} << size_index) < count)
      ++size_index;
    ScoreGraph& graph = score_graphs[size_index];
    if (graph.recorded) return &graph;
    const int64_t batch = int64_t{1} << size_index;
    SharedScoringMemory& memory = *scoring_memory;
    if (!memory.input.defined()) {
      memory.input = torch::zeros({kScoreGraphBatch, kClipFrames},
                                  torch::TensorOptions().dtype(torch::kFloat32).device(device));
      memory.pool = NewCudaGraphPool();
    }
    if (memory.input.device() != device) {
      cuda_graph_problem = "scoring memory shared with critics on " + memory.input.device().str() +
                           ", not " + device.str() + "; scoring and training go on without graphs";
      return nullptr;
    }
    torch::Tensor like;
    std::string problem;
    graph.recorded = RecordedCudaGraph::Record(
        device.index(), [&] { like = Like(memory.input.slice(0, 0, batch)); }, memory.pool,
        &problem);
    if (!graph.recorded) {
      cuda_graph_problem = "CUDA graph failed, scoring and training go on without: " + problem;
      return nullptr;
    }
    graph.like = like;  // The recording's result, in the graph's memory.
    return &graph;
  }

  CriticConfig config;
  torch::Device device;
  RunOptions options;
  std::string cuda_graph_problem;  // Why this critic stopped using CUDA graphs, if it did.
  Mfcc mfcc;
  CriticNet net;
  // What scoring runs: `net`'s weights with the batch norms folded, made at the first Score call
  // and refreshed after every change of `net` (training sets scoring_net_current false; a new or
  // restored critic starts without one).
  std::optional<FoldedCriticNet> scoring_net;
  bool scoring_net_current = false;
  at::Generator random;
  std::unique_ptr<torch::optim::Adam> optimizer;
  torch::Tensor liked, disliked;  // (count, kClipFrames) on the device.
  torch::Tensor rhythm_windows;   // StepOnsetWindows on the device, with the rhythm branch.
  // Scoring graphs on a GPU (ScoreGraphFor), one per power-of-two batch size, and the memory they
  // record into: RunOptions::scoring_memory, or the critic's own. The parameters they read are
  // updated in place by training, so they stay valid from round to round.
  std::shared_ptr<SharedScoringMemory> scoring_memory;
  std::array<ScoreGraph, kScoreGraphSizes> score_graphs;
};

Critic::Critic(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Critic::~Critic() = default;

std::unique_ptr<Critic> Critic::Create(const CriticConfig& config, const std::string& device,
                                       std::string* error, const RunOptions& options) {
  if (std::string problem = ValidateConfig(config); !problem.empty()) {
    *error = problem;
    return nullptr;
  }
  auto parsed = ParseDevice(device, error);
  if (!parsed) return nullptr;
  auto impl = std::make_unique<Impl>(config, *parsed, options);
  {
    // Weights are drawn on the CPU from the seed, then moved, so every device starts the same.
    impl->net->to(torch::kCPU);
    impl->net->ResetParameters(impl->random);
    impl->net->to(*parsed);
  }
  impl->MakeOptimizer();
  return std::unique_ptr<Critic>(new Critic(std::move(impl)));
}

std::unique_ptr<Critic> Critic::Restore(const CriticConfig& config, const std::string& device,
                                        const CriticState& state, std::vector<RatedClip> clips,
                                        std::string* error, const RunOptions& options) {
  if (std::string problem = ValidateConfig(config); !problem.empty()) {
    *error = problem;
    return nullptr;
  }
  auto parsed = ParseDevice(device, error);
  if (!parsed) return nullptr;
  try {
    auto impl = std::make_unique<Impl>(config, *parsed, options);
    ReadArchive(state.model, *parsed, [&](auto& archive) { impl->net->load(archive); });
    if (!state.optimizer.empty()) {
      impl->MakeOptimizer();
      ReadArchive(state.optimizer, *parsed, [&](auto& archive) { impl->optimizer->load(archive); });
    }
    if (!state.rng.empty()) {
      ReadArchive(state.rng, torch::kCPU, [&](auto& archive) {
        torch::Tensor rng;
        archive.read("rng", rng);
        impl->random.set_state(rng);
      });
    }
    std::vector<torch::Tensor> liked, disliked;
    for (RatedClip& clip : clips) {
      if (static_cast<int64_t>(clip.audio.size()) != kClipFrames) {
        *error = "stored clip has " + std::to_string(clip.audio.size()) + " samples, expected " +
                 std::to_string(kClipFrames);
        return nullptr;
      }
      torch::Tensor row = torch::from_blob(clip.audio.data(), {1, kClipFrames}, torch::kFloat32)
                              .to(*parsed, /*non_blocking=*/false, /*copy=*/true);
      (clip.liked ? liked : disliked).push_back(row);
    }
    if (!liked.empty()) impl->liked = torch::cat(liked);
    if (!disliked.empty()) impl->disliked = torch::cat(disliked);
    return std::unique_ptr<Critic>(new Critic(std::move(impl)));
  } catch (const std::exception& e) {
    *error = std::string("critic state could not be loaded: ") + e.what();
    return nullptr;
  }
}

TrainingRound Critic::AddRatingAndTrain(const std::vector<float>& clip, bool liked) {
  torch::Tensor row =
      torch::from_blob(const_cast<float*>(clip.data()), {1, kClipFrames}, torch::kFloat32)
          .to(impl_->device, /*non_blocking=*/false, /*copy=*/true);
  torch::Tensor& pool = liked ? impl_->liked : impl_->disliked;
  pool = torch::cat({pool, row});
  return impl_->Train();
}

std::vector<float> Critic::Score(const float* clips, int64_t count) {
  return Score(std::vector<ClipRun>{{clips, count}});
}

std::vector<float> Critic::Score(const std::vector<ClipRun>& runs) {
  torch::NoGradGuard no_grad;
  impl_->net->eval();
  impl_->PrepareScoringNet();
  int64_t total = 0;
  for (const ClipRun& run : runs)
    total += std::max<int64_t>(0, run.count);
  if (total == 0) return {};
  return impl_->device.is_cpu() ? impl_->ScoreOnCpu(runs, total)
                                : impl_->ScoreOnDevice(runs, total);
}

CriticState Critic::SaveState() const {
  CriticState state;
  state.model = ArchiveBytes([&](auto& archive) { impl_->net->save(archive); });
  if (impl_->optimizer) {
    state.optimizer = ArchiveBytes([&](auto& archive) { impl_->optimizer->save(archive); });
  }
  state.rng = ArchiveBytes([&](auto& archive) { archive.write("rng", impl_->random.get_state()); });
  return state;
}

bool Critic::can_train() const {
  return impl_->optimizer != nullptr;
}
int Critic::liked_count() const {
  return static_cast<int>(impl_->liked.size(0));
}
int Critic::disliked_count() const {
  return static_cast<int>(impl_->disliked.size(0));
}
int64_t Critic::parameter_count() const {
  return impl_->net->TrainableParameterCount();
}
const CriticConfig& Critic::config() const {
  return impl_->config;
}
std::string Critic::device() const {
  return impl_->device.str();
}

TrainingPrecision Critic::training_precision() const {
  return impl_->options.precision;
}

bool Critic::uses_cuda_graphs() const {
  return impl_->UsesCudaGraphs();
}

std::string Critic::cuda_graph_problem() const {
  return impl_->cuda_graph_problem;
}

}  // namespace dd::critic
