// dd_critic_protocol_eval: the paper's two-phase protocol in process, for simulated listeners
// (common/listeners, calibrated as ddsim does). Phase I: each loop is sampled (Metropolis-Hastings,
// the service's defaults) from the critic as it is after every earlier rating, the listener rates
// it and the critic retrains. Phase II: loops from the untrained critic and from the final one.
// theta_init and theta_final are the listener's mean P(like) over those loops: what ddsim counts,
// without the coin flips of the verdicts, so that recipes and Phase II settings can be compared in
// minutes rather than in ddsim's hours. Every Phase II setting samples from the same two critics.
//
//   build/tests/bench/critic/dd_critic_protocol_eval [--samples=DIR] [--tastes=a,b]
//       [--listeners=1] [--recipes=rhythm@5.739e-5@1e-2] [--phase2=threshold@0.95]
//       [--phase1_loops=80] [--phase2_loops=30] [--minibatches=10] [--seed=1] [--threads=0]
//
// A Phase II setting is "threshold@T" (the paper: Metropolis-Hastings until P(like) >= T, at most
// --max_steps, the best state at the cap) or "hillclimb@T" (accept improvements only), with an
// optional "@temperature". Recipes as dd_critic_taste_eval's.
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/bench/bench_flags.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_split.h"
#include "common/sampler/sampler.h"
#include "common/samples/sample_library.h"
#include "common/stats/statistics.h"
#include "tests/bench/critic/eval_support.h"

namespace {

constexpr char kUsage[] =
    "[--samples=DIR] [--tastes=a,b] [--listeners=1] [--recipes=rhythm@5.739e-5@1e-2] "
    "[--phase2=threshold@0.95] [--phase1_loops=80] [--phase2_loops=30] [--max_steps=500] "
    "[--minibatches=10] [--seed=1] [--threads=0]";

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  return dd::bench::Flag(argc, argv, name, fallback, kUsage);
}

struct PhaseTwoSetting {
  std::string name;
  dd::SamplerOptions options;
};

std::optional<PhaseTwoSetting> ParseSetting(const std::string& text, int max_steps) {
  const std::vector<std::string> parts = absl::StrSplit(text, '@');
  PhaseTwoSetting setting{text, {}};
  if (parts[0] == "threshold") {
    setting.options.mode = dd::SamplingMode::kThreshold;
  } else if (parts[0] == "hillclimb") {
    setting.options.mode = dd::SamplingMode::kHillClimb;
  } else {
    return std::nullopt;
  }
  if (parts.size() > 1) setting.options.threshold = std::stod(parts[1]);
  if (parts.size() > 2) setting.options.temperature = std::stod(parts[2]);
  setting.options.max_steps = max_steps;
  if (!dd::ValidateSamplerOptions(setting.options).ok()) return std::nullopt;
  return setting;
}

// One loop from the scorer's critic, as the generator service makes it for a session: one chain,
// seeded by the position, never a loop the session already played.
std::optional<dd::SampledPattern> SampleOne(const dd::PatternGenerator& generator,
                                            dd::PatternScorer& scorer,
                                            const dd::SamplerOptions& options, uint64_t seed,
                                            const absl::flat_hash_set<std::string>& played) {
  dd::SamplingJob job;
  job.count = 1;
  job.seed = seed;
  job.avoid_fingerprints = played;
  auto loops = dd::SampleLoops(generator, scorer, options, std::move(job));
  if (!loops.ok() || loops->empty()) {
    std::fprintf(stderr, "sampling failed: %s\n", std::string(loops.status().message()).c_str());
    return std::nullopt;
  }
  return (*loops)[0];
}

struct PhaseTwoResult {
  double theta = 0;   // Mean P(like) of the listener over the loops.
  double capped = 0;  // Share of loops whose chain hit the step cap.
  double steps = 0;   // Mean proposals per loop.
};

std::optional<PhaseTwoResult> RunPhaseTwo(const dd::Renderer& renderer,
                                          const dd::PatternGenerator& generator,
                                          dd::PatternScorer& scorer,
                                          const dd::listeners::Listener& listener,
                                          const dd::SamplerOptions& options, int loops,
                                          uint64_t seed, absl::flat_hash_set<std::string> played) {
  PhaseTwoResult result;
  for (int i = 0; i < loops; ++i) {
    auto sampled = SampleOne(generator, scorer, options, dd::Rng::SplitMix(seed + i), played);
    if (!sampled) return std::nullopt;
    played.insert(sampled->pattern.Fingerprint());
    auto heard = dd::eval::Hear(renderer, sampled->pattern);
    if (!heard) return std::nullopt;
    result.theta += listener.LikeProbability(heard->heard) / loops;
    result.capped += sampled->capped ? 1.0 / loops : 0.0;
    result.steps += static_cast<double>(sampled->steps_taken) / loops;
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string samples = Flag(argc, argv, "samples", "");
  const std::vector<std::string> tastes = absl::StrSplit(
      Flag(argc, argv, "tastes", "dark,bright,kick-on-beat,sparse,busy,offbeat,steady,punchy"),
      ',');
  const int listeners_per_taste = std::stoi(Flag(argc, argv, "listeners", "1"));
  const std::vector<std::string> recipes =
      absl::StrSplit(Flag(argc, argv, "recipes", "rhythm@5.739e-5@1e-2"), ',');
  const int phase1_loops = std::stoi(Flag(argc, argv, "phase1_loops", "80"));
  const int phase2_loops = std::stoi(Flag(argc, argv, "phase2_loops", "30"));
  const int max_steps = std::stoi(Flag(argc, argv, "max_steps", "500"));
  const int minibatches = std::stoi(Flag(argc, argv, "minibatches", "10"));
  const uint64_t seed = std::stoull(Flag(argc, argv, "seed", "1"));
  dd::critic::ConfigureCpuRuntime(std::stoi(Flag(argc, argv, "threads", "0")));
  std::vector<PhaseTwoSetting> settings;
  const std::vector<std::string> setting_texts =
      absl::StrSplit(Flag(argc, argv, "phase2", "threshold@0.95"), ',');
  for (const std::string& text : setting_texts) {
    auto setting = ParseSetting(text, max_steps);
    if (!setting) {
      std::fprintf(stderr, "bad Phase II setting %s: threshold@T[@temperature] or hillclimb@T\n",
                   text.c_str());
      return 1;
    }
    settings.push_back(*setting);
  }

  auto kit = dd::eval::LoadKit(samples);
  if (!kit) return 1;
  const dd::Renderer& renderer = kit->renderer;
  const dd::PatternGenerator* generator = &kit->generator;
  dd::Rng rng(seed);
  std::vector<dd::listeners::HeardLoop> calibration;
  for (dd::eval::HeardClip& c : dd::eval::RandomClips(renderer, *generator, 200, rng))
    calibration.push_back(std::move(c.heard));

  std::printf("samples %s, %d + %d/%d loops, %d minibatches per rating\n", kit->folder.c_str(),
              phase1_loops, phase2_loops, phase2_loops, minibatches);
  std::printf(
      "| taste | listener | recipe | Phase II | theta_init | theta_final | final capped | "
      "final steps | Phase I liked | s |\n|---|---|---|---|---|---|---|---|---|---|\n");
  // Per recipe and setting: every listener's (theta_init, theta_final).
  std::map<std::string, std::vector<std::pair<double, double>>> summary;
  for (const std::string& name : tastes) {
    auto taste = dd::listeners::TasteByName(name);
    if (!taste.ok()) {
      std::fprintf(stderr, "%s\n", std::string(taste.status().message()).c_str());
      return 1;
    }
    auto calibrated = dd::listeners::Calibrate(*taste, calibration, {});
    if (!calibrated.ok()) return 1;
    for (int index = 0; index < listeners_per_taste; ++index) {
      const uint64_t listener_seed = dd::Rng::SplitMix(seed ^ (0x11573 + index));
      for (const std::string& recipe : recipes) {
        std::string error;
        const auto members = dd::eval::ParseEnsemble(recipe, minibatches, listener_seed, &error);
        const dd::eval::Critics critics =
            members ? dd::eval::CreateCritics(*members, &error) : dd::eval::Critics{};
        const dd::eval::Critics initial_critics =
            members ? dd::eval::CreateCritics(*members, &error) : dd::eval::Critics{};
        if (critics.empty() || initial_critics.empty()) {
          std::fprintf(stderr, "%s: %s\n", recipe.c_str(), error.c_str());
          return 1;
        }
        dd::eval::EnsembleScorer scorer(renderer, critics);
        dd::eval::EnsembleScorer initial_scorer(renderer, initial_critics);
        // Same listener stream and sampling seeds for every recipe: only the recipe differs.
        dd::listeners::Listener listener(*taste, *calibrated, listener_seed);
        const auto start = std::chrono::steady_clock::now();
        absl::flat_hash_set<std::string> played;
        int liked = 0;
        for (int position = 1; position <= phase1_loops; ++position) {
          auto sampled =
              SampleOne(*generator, scorer, dd::SamplerOptions{},
                        dd::Rng::SplitMix(listener_seed + static_cast<uint64_t>(position)), played);
          if (!sampled) return 1;
          played.insert(sampled->pattern.Fingerprint());
          auto heard = dd::eval::Hear(renderer, sampled->pattern);
          if (!heard) return 1;
          const bool likes = listener.Likes(heard->heard);
          liked += likes;
          for (const auto& critic : critics)
            critic->AddRatingAndTrain(heard->clip, likes);
        }
        for (const PhaseTwoSetting& setting : settings) {
          const uint64_t phase2_seed = dd::Rng::SplitMix(listener_seed ^ 0x2222);
          auto initial = RunPhaseTwo(renderer, *generator, initial_scorer, listener,
                                     setting.options, phase2_loops, phase2_seed, played);
          auto final = RunPhaseTwo(renderer, *generator, scorer, listener, setting.options,
                                   phase2_loops, phase2_seed + 7919, played);
          if (!initial || !final) return 1;
          const double seconds =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          std::printf("| %s | %d | %s | %s | %.3f | %.3f | %.2f | %.0f | %d/%d | %.0f |\n",
                      name.c_str(), index, recipe.c_str(), setting.name.c_str(), initial->theta,
                      final->theta, final->capped, final->steps, liked, phase1_loops, seconds);
          std::fflush(stdout);
          summary[recipe + " | " + setting.name].emplace_back(initial->theta, final->theta);
        }
      }
    }
  }
  std::printf(
      "\n| recipe | Phase II | listeners | mean theta_init | mean theta_final [95%%] | "
      "theta_final > theta_init |\n|---|---|---|---|---|---|\n");
  for (const auto& [key, thetas] : summary) {
    std::vector<double> init, final;
    int improved = 0;
    for (const auto& [i, f] : thetas) {
      init.push_back(i);
      final.push_back(f);
      improved += f > i;
    }
    const dd::stats::Interval final_mean = dd::stats::MeanInterval(final);
    std::printf("| %s | %zu | %.3f | %.3f [%.3f, %.3f] | %d of %zu |\n", key.c_str(), thetas.size(),
                dd::stats::MeanInterval(init).estimate, final_mean.estimate, final_mean.low,
                final_mean.high, improved, thetas.size());
  }
  return 0;
}
