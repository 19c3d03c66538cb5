// dd_critic_bench: the critic's speed on this machine, as a table. Builds with LibTorch alone
// (DD_LIBTORCH_ONLY) so it runs on GPU machines that have nothing else.
//
//   build/tests/bench/critic/dd_critic_bench [--device=cpu|cuda:0] [--ratings=3] [--repeats=20]
//       [--precisions=float32,bfloat16] [--cuda_graphs=on,off] [--breakdown=1]
//       [--cudnn_benchmark=0]
//
// On a CUDA device scoring and training are timed with and without CUDA graphs
// (RunOptions::cuda_graphs; "on" needs a build with -DDD_CUDA=ON, and the table says when a
// critic fell back).
//
// --breakdown=1 adds where a batched Score's time goes (the MFCC, the forward, each convolution;
// on a GPU also the copy to the device) and where a training round's goes: the paper's 40 minibatch
// steps timed part by part (MFCC, the network forward, forward + backward, Adam's update), outside
// the critic.
//
// Training is timed once per precision (default: float32, and bfloat16 where the CPU has it
// natively); scoring is float32.
//
// Clips are synthetic (decaying tones and noise bursts): speed does not depend on the content.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <torch/cuda.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>
#include <torch/torch.h>

#include "tests/bench/bench_flags.h"

#include "common/critic/critic.h"
#include "common/critic/critic_net.h"
#include "common/critic/folded_critic_net.h"
#include "common/critic/fused_adam.h"
#include "common/critic/host_clips.h"
#include "common/critic/mfcc.h"

namespace {

constexpr char kUsage[] =
    "[--device=cpu|cuda:N] [--ratings=N] [--repeats=N] [--batch=N] [--threads=N] "
    "[--precisions=float32,bfloat16] [--cuda_graphs=on,off] [--breakdown=1] "
    "[--cudnn_benchmark=0] [--tf32_matmul=1]";

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  return dd::bench::Flag(argc, argv, name, fallback, kUsage);
}

using Clock = std::chrono::steady_clock;
using dd::critic::kClipFrames;

std::vector<float> SyntheticClip(std::mt19937_64& random) {
  std::normal_distribution<float> noise(0.0f, 0.02f);
  std::uniform_real_distribution<double> pitch(40.0, 400.0);
  const double f = pitch(random);
  std::vector<float> clip(kClipFrames);
  for (int64_t i = 0; i < kClipFrames; ++i) {
    const double t = static_cast<double>(i % 11025) / dd::critic::kClipSampleRate;
    clip[i] =
        static_cast<float>(0.5 * std::sin(2 * M_PI * f * t) * std::exp(-10 * t)) + noise(random);
  }
  return clip;
}

double Millis(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// 16 rated clips, so every timed round trains on full 8 + 8 minibatches, as after the first
// ratings of a session.
void Prime(dd::critic::Critic& critic, std::mt19937_64& random) {
  for (int i = 0; i < 16; ++i)
    critic.AddRatingAndTrain(SyntheticClip(random), i % 2 == 0);
}

std::vector<std::string> Split(const std::string& list) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    if (comma > start) parts.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

// Milliseconds for `calls` calls of `part` after one warm-up call (allocations, kernel selection),
// with a CUDA device drained before and after, so that queued GPU work counts where it was queued.
double TimeCalls(const torch::Device& device, int calls, const std::function<void()>& part) {
  const auto drain = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  part();
  drain();
  const auto start = Clock::now();
  for (int i = 0; i < calls; ++i)
    part();
  drain();
  return Millis(Clock::now() - start);
}

// The critic's MFCC and network on `device`, outside a Critic, to time their parts.
std::pair<dd::critic::Mfcc, dd::critic::CriticNet> BareNetwork(
    const dd::critic::CriticConfig& config, const torch::Device& device) {
  dd::critic::MfccOptions options;
  options.mel_sample_rate = config.mel_sample_rate;
  dd::critic::CriticNet net(options.n_mfcc, 1 + kClipFrames / options.hop_length);
  net->to(device);
  return {dd::critic::Mfcc(options, device), net};
}

// A round's 40 minibatch steps part by part, float32, with the device drained before and after
// each part so that queued GPU work is counted where it was queued. Rows: ms per round.
std::vector<std::pair<std::string, double>> TrainingBreakdown(
    const std::string& device_name, const dd::critic::CriticConfig& config) {
  const torch::Device device(device_name);
  auto [mfcc, net] = BareNetwork(config, device);
  net->train();
  torch::optim::Adam adam(
      net->parameters(),
      torch::optim::AdamOptions(config.learning_rate).weight_decay(config.weight_decay));
  const auto on_device = torch::TensorOptions().device(device);
  const int64_t clips = config.minibatch_size;
  const torch::Tensor audio = 0.1 * torch::randn({clips, kClipFrames}, on_device);
  const torch::Tensor features = mfcc.Compute(audio);
  const torch::Tensor labels =
      torch::cat({torch::ones({clips / 2}, on_device.dtype(torch::kInt64)),
                  torch::zeros({clips - clips / 2}, on_device.dtype(torch::kInt64))});
  const int steps = config.minibatches_per_rating;
  const auto step = [&](bool backward, bool update) {
    torch::Tensor loss =
        torch::nll_loss(net->forward(features, {}, config.dropout, c10::nullopt), labels);
    if (backward) {
      adam.zero_grad();
      loss.backward();
    }
    if (update) adam.step();
  };
  const auto time_round = [&](const std::function<void()>& one_step) {
    return TimeCalls(device, steps, one_step);
  };
  std::vector<std::pair<std::string, double>> rows;
  rows.emplace_back("  MFCC of the minibatch", time_round([&] { mfcc.Compute(audio); }));
  rows.emplace_back("  network forward", time_round([&] { step(false, false); }));
  rows.emplace_back("  network forward + backward", time_round([&] { step(true, false); }));
  rows.emplace_back("  network forward + backward + Adam", time_round([&] { step(true, true); }));
  rows.emplace_back("  Adam's update alone", time_round([&] { adam.step(); }));
  if (device.is_cuda()) {
    dd::critic::FusedAdam fused(adam);
    rows.emplace_back("  fused Adam's update alone", time_round([&] { fused.Step(); }));
    fused.Finish();
  }
  return rows;
}

// A batched Score's parts on a CUDA device, each timed alone over `repeats` calls with the device
// drained before and after: the clips' copy to the device (from ordinary and from pinned host
// memory) and the MFCC + forward on clips already there, the whole batch at once as Score does
// there. Rows: us per clip.
std::vector<std::pair<std::string, double>> ScoringBreakdown(const std::string& device_name,
                                                             const dd::critic::CriticConfig& config,
                                                             const std::vector<float>& clips,
                                                             int repeats) {
  const torch::Device device(device_name);
  const int64_t count = static_cast<int64_t>(clips.size()) / kClipFrames;
  auto [mfcc, net] = BareNetwork(config, device);
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor host =
      torch::from_blob(const_cast<float*>(clips.data()), {count, kClipFrames}, torch::kFloat32);
  const torch::Tensor on_device = host.to(device);
  const auto per_clip_us = [&](const std::function<void()>& part) {
    return TimeCalls(device, repeats, part) * 1000.0 / repeats / static_cast<double>(count);
  };
  std::vector<std::pair<std::string, double>> rows;
  if (device.is_cuda()) {
    rows.emplace_back("  copy to the device", per_clip_us([&] { host.to(device); }));
    const torch::Tensor pinned = host.pin_memory();
    rows.emplace_back("  copy to the device from pinned memory",
                      per_clip_us([&] { pinned.to(device, /*non_blocking=*/true); }));
    rows.emplace_back("  copy through a pinned buffer (host copy_)", per_clip_us([&] {
                        torch::Tensor staging = torch::empty(
                            host.sizes(),
                            torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(true));
                        staging.copy_(host);
                        staging.to(device, /*non_blocking=*/true);
                      }));
  }
  rows.emplace_back("  MFCC", per_clip_us([&] { mfcc.Compute(on_device); }));
  rows.emplace_back("  MFCC + network forward", per_clip_us([&] {
                      net->forward(mfcc.Compute(on_device), {}, 0.0, c10::nullopt);
                    }));
  const dd::critic::FoldedCriticNet folded(*net);
  rows.emplace_back("  MFCC + folded network (as Score runs it)",
                    per_clip_us([&] { folded.Forward(mfcc.Compute(on_device), {}); }));
  // Each convolution alone on an input of its shape (the activations and batch norms between them
  // left out).
  torch::Tensor layer_input = mfcc.Compute(on_device).unsqueeze(1);
  for (const auto& child : net->named_children()) {
    const auto conv = std::dynamic_pointer_cast<torch::nn::Conv2dImpl>(child.value());
    if (!conv) continue;
    const torch::Tensor input = layer_input;
    rows.emplace_back("    " + child.key() + " alone", per_clip_us([&] { conv->forward(input); }));
    layer_input = conv->forward(input);
  }
  return rows;
}

struct ScoringTimes {
  std::string label;  // Which way the critic scored, on a GPU.
  double single_mean_ms = 0;
  double single_median_ms = 0;
  double batched_us_per_clip = 0;     // From the caller's ordinary memory.
  double host_clips_us_per_clip = 0;  // From HostClips in two runs, as dd-critic scores.
  bool page_locked = false;
};

// Scoring `critic` one clip at a time and in batches of `batch` clips (`clips` holds them).
ScoringTimes TimeScoring(dd::critic::Critic& critic, const std::vector<float>& clips, int batch,
                         int repeats) {
  ScoringTimes times;
  critic.Score(clips.data(), 1);  // Warm-up: allocations, kernel selection, graphs recorded.
  critic.Score(clips.data(), batch);
  // Per call, so the table can show the median beside the mean: on a shared 2-core machine a few
  // descheduled calls move the mean far more than what a caller usually sees.
  std::vector<double> single_calls_ms;
  for (int i = 0; i < repeats; ++i) {
    const auto call_start = Clock::now();
    critic.Score(clips.data() + static_cast<size_t>(i % batch) * kClipFrames, 1);
    single_calls_ms.push_back(Millis(Clock::now() - call_start));
  }
  times.single_mean_ms =
      std::accumulate(single_calls_ms.begin(), single_calls_ms.end(), 0.0) / repeats;
  std::sort(single_calls_ms.begin(), single_calls_ms.end());
  times.single_median_ms = single_calls_ms[single_calls_ms.size() / 2];

  const int batch_repeats = std::max(1, repeats / 4);
  auto start = Clock::now();
  for (int i = 0; i < batch_repeats; ++i)
    critic.Score(clips.data(), batch);
  times.batched_us_per_clip = Millis(Clock::now() - start) * 1000 / batch_repeats / batch;
  // The same clips from the memory a worker scores from (page-locked on a GPU), as two runs the
  // way a batch of two requests reaches the critic.
  dd::critic::HostClips front = dd::critic::HostClips::ForDevice(critic.device(), batch / 2);
  dd::critic::HostClips back = dd::critic::HostClips::ForDevice(critic.device(), batch - batch / 2);
  for (int i = 0; i < batch; ++i) {
    float* clip = (i < batch / 2 ? front : back).Append();
    std::copy_n(clips.data() + static_cast<size_t>(i) * kClipFrames, kClipFrames, clip);
  }
  const std::vector<dd::critic::ClipRun> runs = {front.run(), back.run()};
  critic.Score(runs);
  start = Clock::now();
  for (int i = 0; i < batch_repeats; ++i)
    critic.Score(runs);
  times.host_clips_us_per_clip = Millis(Clock::now() - start) * 1000 / batch_repeats / batch;
  times.page_locked = front.page_locked();
  return times;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string device = Flag(argc, argv, "device", "cpu");
  const int ratings = std::stoi(Flag(argc, argv, "ratings", "3"));
  const int repeats = std::stoi(Flag(argc, argv, "repeats", "20"));
  const int batch = std::stoi(Flag(argc, argv, "batch", "64"));

  dd::critic::ConfigureCpuRuntime(std::stoi(Flag(argc, argv, "threads", "0")));
  // As dd-critic sets up a GPU worker (--cudnn_benchmark=0 for cuDNN's heuristics instead); and
  // an experiment: TF32 for matrix products (convolutions have it by default).
  if (device.rfind("cuda", 0) == 0) {
    dd::critic::ConfigureCudaRuntime(Flag(argc, argv, "cudnn_benchmark", "1") == "1");
  }
  if (Flag(argc, argv, "tf32_matmul", "0") == "1") at::globalContext().setAllowTF32CuBLAS(true);
  std::string error;
  dd::critic::CriticConfig config;
  config.seed = 1;
  auto critic = dd::critic::Critic::Create(config, device, &error);
  if (!critic) {
    std::fprintf(stderr, "dd_critic_bench: %s\n", error.c_str());
    return 1;
  }
  std::mt19937_64 random(8);
  std::vector<float> clips;
  for (int i = 0; i < batch; ++i) {
    std::vector<float> clip = SyntheticClip(random);
    clips.insert(clips.end(), clip.begin(), clip.end());
  }
  const bool native_bf16 = dd::critic::CpuHasNativeBFloat16();
  const bool on_cuda = critic->device().rfind("cuda", 0) == 0;
  std::vector<bool> graph_modes = {false};
  if (on_cuda) {
    graph_modes.clear();
    for (const std::string& mode : Split(Flag(argc, argv, "cuda_graphs", "on,off"))) {
      if (mode != "on" && mode != "off") {
        std::fprintf(stderr, "dd_critic_bench: --cuda_graphs takes on and/or off, got %s\n",
                     mode.c_str());
        return 1;
      }
      graph_modes.push_back(mode == "on");
    }
  }
  const int batch_repeats = std::max(1, repeats / 4);
  std::vector<ScoringTimes> scoring;
  std::vector<std::string> notes;
  for (const bool graphs : graph_modes) {
    // The same weights whatever the mode: the same seed and the same priming ratings.
    auto scorer = dd::critic::Critic::Create(config, device, &error, {.cuda_graphs = graphs});
    std::mt19937_64 scorer_random(7);
    Prime(*scorer, scorer_random);
    scoring.push_back(TimeScoring(*scorer, clips, batch, repeats));
    if (on_cuda) {
      scoring.back().label = scorer->uses_cuda_graphs() ? ", CUDA graphs" : ", no graph";
    }
    if (!scorer->cuda_graph_problem().empty()) notes.push_back(scorer->cuda_graph_problem());
  }
  std::vector<std::pair<std::string, double>> train_rows;
  for (const std::string& name :
       Split(Flag(argc, argv, "precisions", native_bf16 ? "float32,bfloat16" : "float32"))) {
    auto precision = dd::critic::ParseTrainingPrecision(name, device, &error);
    if (!precision) {
      std::fprintf(stderr, "dd_critic_bench: %s\n", error.c_str());
      return 1;
    }
    for (const bool graphs : graph_modes) {
      auto trainee = dd::critic::Critic::Create(config, device, &error,
                                                {.precision = *precision, .cuda_graphs = graphs});
      std::mt19937_64 trainee_random(7);
      Prime(*trainee, trainee_random);
      const auto start = Clock::now();
      for (int i = 0; i < ratings; ++i)
        trainee->AddRatingAndTrain(SyntheticClip(trainee_random), i % 2 == 0);
      const double ms = Millis(Clock::now() - start) / ratings;
      std::string label =
          std::string("train on one rating, ") + dd::critic::TrainingPrecisionName(*precision) +
          (*precision == dd::critic::TrainingPrecision::kBFloat16 && !native_bf16 && !on_cuda
               ? " (emulated)"
               : "");
      if (on_cuda) label += trainee->uses_cuda_graphs() ? ", CUDA graph" : ", no graph";
      if (!trainee->cuda_graph_problem().empty()) notes.push_back(trainee->cuda_graph_problem());
      train_rows.emplace_back(label, ms);
    }
  }

  std::printf("critic benchmark on %s (%lld parameters, %d x %d minibatches per rating)\n",
              critic->device().c_str(), static_cast<long long>(critic->parameter_count()),
              config.minibatches_per_rating, config.minibatch_size);
  std::printf("| %-42s | %12s |\n", "measure", "time");
  std::printf("|%s|%s|\n", std::string(44, '-').c_str(), std::string(14, '-').c_str());
  for (const ScoringTimes& times : scoring) {
    std::printf("| %-42s | %9.3f ms |\n", ("score, single clip (mean" + times.label + ")").c_str(),
                times.single_mean_ms);
    std::printf("| %-42s | %9.3f ms |\n",
                ("score, single clip (median" + times.label + ")").c_str(), times.single_median_ms);
    std::printf("| %-42s | %9.1f us |\n",
                ("score, batch of " + std::to_string(batch) + ", per clip" + times.label).c_str(),
                times.batched_us_per_clip);
    std::printf(
        "| %-42s | %9.1f us |\n",
        (std::string("  the same from HostClips") + (times.page_locked ? " (page-locked)" : ""))
            .c_str(),
        times.host_clips_us_per_clip);
  }
  for (const auto& [label, ms] : train_rows)
    std::printf("| %-42s | %9.1f ms |\n", label.c_str(), ms);
  for (const std::string& note : notes)
    std::printf("note: %s\n", note.c_str());
  if (Flag(argc, argv, "breakdown", "0") == "1") {
    std::printf("| %-42s | %12s |\n",
                ("of a batch of " + std::to_string(batch) + " scored, per clip:").c_str(), "");
    for (const auto& [label, us] : ScoringBreakdown(device, config, clips, batch_repeats))
      std::printf("| %-42s | %9.1f us |\n", label.c_str(), us);
    std::printf("| %-42s | %12s |\n", "of which, per round of minibatches:", "");
    for (const auto& [label, ms] : TrainingBreakdown(device, config))
      std::printf("| %-42s | %9.1f ms |\n", label.c_str(), ms);
  }
  return 0;
}
