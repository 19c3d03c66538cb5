#include "common/sampler/sampler.h"

#include <cmath>
#include <optional>
#include <utility>

#include "absl/strings/str_format.h"
#include "common/random/rng.h"
#include "common/text/exact_number.h"

namespace dd {
namespace {

struct Chain {
  explicit Chain(uint64_t seed, const PatternGenerator& generator)
      : rng(seed), current(generator.Random(rng)) {}

  Rng rng;
  Pattern current;
  double score = 0;
  bool scored = false;  // `current` is the fresh random start until its first score arrives.
  int steps = 0;
  int accepted = 0;
  std::optional<Pattern> best;  // Best state seen that was not to be avoided.
  double best_score = -1;
  bool active = true;
};

// min(1, (f'/f)^(1/s)) in log space, so that a zero score is handled without dividing by it.
bool MetropolisAccepts(double current, double proposed, double temperature, Rng& rng) {
  if (proposed >= current) return true;
  const double log_ratio = (std::log(proposed) - std::log(current)) / temperature;
  return std::log(rng.Uniform01()) < log_ratio;
}

class LockstepSampler {
 public:
  LockstepSampler(const PatternGenerator& generator, PatternScorer& scorer,
                  const SamplerOptions& options, SamplingJob job)
      : generator_(generator),
        scorer_(scorer),
        options_(options),
        job_(std::move(job)),
        seeds_(job_.seed) {}

  absl::Status Run() {
    const int in_flight = std::min(options_.chains, job_.count);
    chains_.reserve(static_cast<size_t>(in_flight));
    for (int i = 0; i < in_flight; ++i)
      StartChain(nullptr);
    std::vector<Pattern> batch;
    while (emitted_ < job_.count) {
      if (job_.keep_going) {
        if (absl::Status status = job_.keep_going(); !status.ok()) return status;
      }
      batch.clear();
      for (Chain& chain : chains_) {
        if (!chain.active) continue;
        batch.push_back(chain.scored ? generator_.Mutate(chain.current, chain.rng) : chain.current);
      }
      absl::StatusOr<std::vector<double>> scores = scorer_.Score(batch);
      if (!scores.ok()) return scores.status();
      if (scores->size() != batch.size()) {
        return absl::InternalError(absl::StrFormat("scorer returned %d scores for %d patterns",
                                                   scores->size(), batch.size()));
      }
      size_t next = 0;
      for (Chain& chain : chains_) {
        if (!chain.active) continue;
        const double score = (*scores)[next];
        Pattern& proposal = batch[next++];
        if (!std::isfinite(score) || score < 0.0 || score > 1.0) {
          return absl::InternalError(
              absl::StrFormat("scorer returned %s, not a probability", ExactNumber(score)));
        }
        Advance(chain, std::move(proposal), score);
        if (absl::Status status = FinishIfDone(chain); !status.ok()) return status;
      }
    }
    return absl::OkStatus();
  }

 private:
  void StartChain(Chain* reuse) {
    ++started_;
    if (reuse != nullptr) {
      *reuse = Chain(seeds_.Fork(), generator_);
    } else {
      chains_.emplace_back(seeds_.Fork(), generator_);
    }
  }

  bool Avoided(const Pattern& pattern) const {
    return job_.avoid_fingerprints.contains(pattern.Fingerprint());
  }

  void Advance(Chain& chain, Pattern proposal, double score) {
    if (!chain.scored) {
      chain.scored = true;
      chain.score = score;
    } else {
      ++chain.steps;
      const bool accept =
          options_.mode == SamplingMode::kHillClimb
              ? score > chain.score
              : MetropolisAccepts(chain.score, score, options_.temperature, chain.rng);
      if (!accept) return;
      ++chain.accepted;
      chain.current = std::move(proposal);
      chain.score = score;
    }
    // Only the capped modes fall back to the best state; Metropolis never needs it.
    if (options_.mode != SamplingMode::kMetropolis && chain.score > chain.best_score &&
        !Avoided(chain.current)) {
      chain.best = chain.current;
      chain.best_score = chain.score;
    }
  }

  absl::Status FinishIfDone(Chain& chain) {
    const bool metropolis = options_.mode == SamplingMode::kMetropolis;
    const bool at_goal =
        metropolis ? chain.steps >= options_.min_steps : chain.score >= options_.threshold;
    if (at_goal && !Avoided(chain.current)) {
      return Deliver(chain, chain.current, chain.score, /*capped=*/false);
    }
    const int budget = metropolis ? options_.min_steps + options_.max_steps : options_.max_steps;
    if (chain.steps < budget) return absl::OkStatus();
    if (!metropolis) {
      // Another chain may have delivered this chain's best in the meantime.
      if (chain.best.has_value() && !Avoided(*chain.best)) {
        Pattern best = *chain.best;
        return Deliver(chain, best, chain.best_score, /*capped=*/true);
      }
      if (!Avoided(chain.current)) return Deliver(chain, chain.current, chain.score, true);
    }
    return absl::ResourceExhaustedError(absl::StrFormat(
        "a chain took %d steps without finding a loop outside the %d to avoid; widen the priors "
        "or raise max_steps",
        chain.steps, job_.avoid_fingerprints.size()));
  }

  absl::Status Deliver(Chain& chain, const Pattern& pattern, double score, bool capped) {
    SampledPattern loop{.pattern = pattern,
                        .score = score,
                        .steps_taken = chain.steps,
                        .acceptance_rate = chain.steps > 0
                                               ? static_cast<double>(chain.accepted) / chain.steps
                                               : 0.0,
                        .threshold_reached = score >= options_.threshold,
                        .capped = capped};
    if (job_.distinct) job_.avoid_fingerprints.insert(pattern.Fingerprint());
    ++emitted_;
    if (started_ < job_.count) {
      StartChain(&chain);
    } else {
      chain.active = false;
    }
    return job_.on_loop(std::move(loop));
  }

  const PatternGenerator& generator_;
  PatternScorer& scorer_;
  const SamplerOptions options_;
  SamplingJob job_;
  Rng seeds_;
  std::vector<Chain> chains_;
  int started_ = 0;
  int emitted_ = 0;
};

}  // namespace

absl::Status RunSampler(const PatternGenerator& generator, PatternScorer& scorer,
                        const SamplerOptions& options, SamplingJob job) {
  if (absl::Status status = ValidateSamplerOptions(options); !status.ok()) return status;
  if (job.count < 1) {
    return absl::InvalidArgumentError(absl::StrFormat("count must be >= 1, got %d", job.count));
  }
  if (!job.on_loop) return absl::InvalidArgumentError("a sampling job needs on_loop");
  return LockstepSampler(generator, scorer, options, std::move(job)).Run();
}

absl::StatusOr<std::vector<SampledPattern>> SampleLoops(const PatternGenerator& generator,
                                                        PatternScorer& scorer,
                                                        const SamplerOptions& options,
                                                        SamplingJob job) {
  std::vector<SampledPattern> loops;
  job.on_loop = [&loops](SampledPattern loop) {
    loops.push_back(std::move(loop));
    return absl::OkStatus();
  };
  if (absl::Status status = RunSampler(generator, scorer, options, std::move(job)); !status.ok()) {
    return status;
  }
  return loops;
}

}  // namespace dd
