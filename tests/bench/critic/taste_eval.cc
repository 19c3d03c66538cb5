// dd_critic_taste_eval: can a critic recipe learn a simulated listener's taste? A quick, in-process
// check of recipes before a full ddsim run through the services: for each taste, a listener
// (common/listeners, calibrated as ddsim does) rates `ratings` random loops, a fresh critic trains
// on them one rating at a time, and the table shows how well it ranks `held_out` new random loops
// by the listener's P(like) (AUC against the listener's verdicts, and rank correlation with its
// preference). Random loops, not the sampler's: this isolates what the critic can learn.
//
//   build/tests/bench/critic/dd_critic_taste_eval [--samples=DIR] [--tastes=a,b] [--ratings=80]
//       [--held_out=200] [--minibatches=10] [--recipes=paper,rhythm] [--seed=1] [--threads=0]
//       [--prior_ratings=0] [--prior_minibatches=2]
//
// A recipe is "paper" or "rhythm" (CriticConfig::rhythm_branch), optionally with "@" and an Adam
// learning rate, e.g. "rhythm@2e-4", and for rhythm a second "@" and the branch's own rate, e.g.
// "rhythm@5.739e-5@1e-3", and last ":" and a training precision (float32 unless given), e.g.
// "paper:bfloat16". Recipes joined by "+" are an ensemble: each member (member m seeded seed + m)
// trains on the same ratings and the scores are their mean P(like). The "oracle" row ranks the
// held-out loops by the listener's own P(like): the best AUC any critic could reach against its
// noisy verdicts. With --prior_ratings=N each recipe also runs starting from a critic pre-trained
// on N ratings from every other catalogued taste (a " + prior" row; see PriorState).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "tests/bench/bench_flags.h"

#include "absl/strings/str_split.h"
#include "common/samples/sample_library.h"
#include "tests/bench/critic/eval_support.h"

namespace {

using dd::eval::HeardClip;
using dd::eval::RandomClips;
using dd::eval::Recipe;

constexpr char kUsage[] =
    "[--samples=DIR] [--tastes=a,b] [--ratings=80] [--held_out=200] [--minibatches=10] "
    "[--recipes=paper,rhythm] [--seed=1] [--threads=0] [--prior_ratings=0] "
    "[--prior_minibatches=2]";

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  return dd::bench::Flag(argc, argv, name, fallback, kUsage);
}

// P(score of a liked loop > score of a disliked one), ties counting half.
double Auc(const std::vector<float>& scores, const std::vector<bool>& liked) {
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    for (size_t j = 0; j < scores.size(); ++j) {
      if (!liked[i] || liked[j]) continue;
      pairs += 1;
      wins += scores[i] > scores[j] ? 1.0 : scores[i] == scores[j] ? 0.5 : 0.0;
    }
  }
  return pairs > 0 ? wins / pairs : 0.5;
}

std::vector<double> Ranks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t i = 0; i < order.size(); ++i)
    ranks[order[i]] = static_cast<double>(i);
  return ranks;
}

double SpearmanCorrelation(const std::vector<double>& a, const std::vector<double>& b) {
  const std::vector<double> ra = Ranks(a), rb = Ranks(b);
  const double mean = (static_cast<double>(a.size()) - 1) / 2;
  double num = 0, da = 0, db = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (ra[i] - mean) * (rb[i] - mean);
    da += (ra[i] - mean) * (ra[i] - mean);
    db += (rb[i] - mean) * (rb[i] - mean);
  }
  return da > 0 && db > 0 ? num / std::sqrt(da * db) : 0;
}

// A critic pre-trained on other listeners (the paper's section 6): every catalogued taste but
// `excluded` rates `per_taste` fresh random loops, and one critic trains on all those ratings,
// interleaved, `minibatches` per rating. Its state is where a new listener's critic starts.
std::optional<dd::critic::CriticState> PriorState(
    const std::string& excluded, int per_taste, int minibatches, dd::critic::CriticConfig config,
    dd::critic::TrainingPrecision precision, const dd::Renderer& renderer,
    const dd::PatternGenerator& generator, const std::vector<dd::listeners::HeardLoop>& calibration,
    uint64_t seed) {
  struct Rated {
    std::vector<float> clip;
    bool liked;
  };
  dd::Rng rng(seed ^ 0x9e1a);
  std::vector<Rated> ratings;
  uint64_t listener_seed = seed;
  for (const std::string& name : dd::listeners::TasteNames()) {
    listener_seed = dd::Rng::SplitMix(listener_seed);
    if (name == excluded || name == "family" || name == "random") continue;
    auto taste = dd::listeners::TasteByName(name);
    if (!taste.ok()) return std::nullopt;
    auto calibrated = dd::listeners::Calibrate(*taste, calibration, {});
    if (!calibrated.ok()) return std::nullopt;
    dd::listeners::Listener listener(*taste, *calibrated, listener_seed);
    for (HeardClip& c : RandomClips(renderer, generator, per_taste, rng)) {
      const bool liked = listener.Likes(c.heard);
      ratings.push_back({std::move(c.clip), liked});
    }
  }
  for (size_t i = ratings.size(); i > 1; --i)
    std::swap(ratings[i - 1], ratings[rng.UniformIndex(i)]);
  config.minibatches_per_rating = minibatches;
  std::string error;
  auto critic = dd::critic::Critic::Create(config, "cpu", &error, {.precision = precision});
  if (!critic) return std::nullopt;
  for (const Rated& r : ratings)
    critic->AddRatingAndTrain(r.clip, r.liked);
  return critic->SaveState();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string samples = Flag(argc, argv, "samples", "");
  const int ratings = std::stoi(Flag(argc, argv, "ratings", "80"));
  const int held_out = std::stoi(Flag(argc, argv, "held_out", "200"));
  const int minibatches = std::stoi(Flag(argc, argv, "minibatches", "10"));
  const uint64_t seed = std::stoull(Flag(argc, argv, "seed", "1"));
  const std::vector<std::string> tastes = absl::StrSplit(
      Flag(argc, argv, "tastes", "kick-on-beat,offbeat,sparse,steady,bright,dark"), ',');
  const std::vector<std::string> recipes =
      absl::StrSplit(Flag(argc, argv, "recipes", "paper,rhythm"), ',');
  const int prior_ratings = std::stoi(Flag(argc, argv, "prior_ratings", "0"));
  const int prior_minibatches = std::stoi(Flag(argc, argv, "prior_minibatches", "2"));
  dd::critic::ConfigureCpuRuntime(std::stoi(Flag(argc, argv, "threads", "0")));

  auto kit = dd::eval::LoadKit(samples);
  if (!kit) return 1;
  const dd::Renderer& renderer = kit->renderer;
  const dd::PatternGenerator* generator = &kit->generator;
  dd::Rng rng(seed);
  const std::vector<HeardClip> calibration = RandomClips(renderer, *generator, 200, rng);
  const std::vector<HeardClip> training = RandomClips(renderer, *generator, ratings, rng);
  const std::vector<HeardClip> test = RandomClips(renderer, *generator, held_out, rng);
  std::vector<dd::listeners::HeardLoop> calibration_heard;
  for (const HeardClip& c : calibration)
    calibration_heard.push_back(c.heard);

  std::printf("samples %s, %d random training loops, %d held out, %d minibatches per rating\n",
              kit->folder.c_str(), ratings, held_out, minibatches);
  std::printf(
      "| taste | recipe | liked in training | AUC (held-out verdicts) | Spearman vs "
      "P(like) | train s |\n|---|---|---|---|---|---|\n");
  for (const std::string& name : tastes) {
    auto taste = dd::listeners::TasteByName(name);
    if (!taste.ok()) {
      std::fprintf(stderr, "%s\n", std::string(taste.status().message()).c_str());
      return 1;
    }
    auto calibrated = dd::listeners::Calibrate(*taste, calibration_heard, {});
    if (!calibrated.ok()) return 1;
    {
      // The same verdict stream every recipe sees: training draws first, then the held-out ones.
      dd::listeners::Listener listener(*taste, *calibrated, seed ^ 0x11573);
      for (const HeardClip& c : training)
        listener.Likes(c.heard);
      std::vector<float> probabilities;
      std::vector<bool> verdicts;
      for (const HeardClip& c : test) {
        verdicts.push_back(listener.Likes(c.heard));
        probabilities.push_back(static_cast<float>(listener.LikeProbability(c.heard)));
      }
      std::printf("| %s | oracle | | %.3f | 1.000 | |\n", name.c_str(),
                  Auc(probabilities, verdicts));
    }
    for (const std::string& recipe : recipes) {
      std::string error;
      const auto members = dd::eval::ParseEnsemble(recipe, minibatches, seed, &error);
      if (!members) {
        std::fprintf(stderr, "%s\n", error.c_str());
        return 1;
      }
      std::vector<bool> variants = {false};
      if (prior_ratings > 0) variants.push_back(true);
      for (const bool with_prior : variants) {
        // Same listener stream and critic seed for every recipe: only the recipe differs.
        dd::listeners::Listener listener(*taste, *calibrated, seed ^ 0x11573);
        dd::eval::Critics critics;
        for (const Recipe& member : *members) {
          std::string error;
          std::unique_ptr<dd::critic::Critic> critic;
          if (with_prior) {
            const auto prior =
                PriorState(name, prior_ratings, prior_minibatches, member.config, member.precision,
                           renderer, *generator, calibration_heard, seed);
            if (prior) {
              critic = dd::critic::Critic::Restore(member.config, "cpu", *prior, {}, &error,
                                                   {.precision = member.precision});
            }
          } else {
            critic = dd::critic::Critic::Create(member.config, "cpu", &error,
                                                {.precision = member.precision});
          }
          if (!critic) {
            std::fprintf(stderr, "%s: cannot make the critic %s\n", recipe.c_str(), error.c_str());
            return 1;
          }
          critics.push_back(std::move(critic));
        }
        int liked = 0;
        const auto start = std::chrono::steady_clock::now();
        for (const HeardClip& c : training) {
          const bool likes = listener.Likes(c.heard);
          liked += likes;
          for (auto& critic : critics)
            critic->AddRatingAndTrain(c.clip, likes);
        }
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::vector<float> scores;
        std::vector<bool> verdicts;
        std::vector<double> score_values, probabilities;
        for (const HeardClip& c : test) {
          scores.push_back(static_cast<float>(dd::eval::MeanScores(critics, c.clip.data(), 1)[0]));
          verdicts.push_back(listener.Likes(c.heard));
          score_values.push_back(scores.back());
          probabilities.push_back(listener.LikeProbability(c.heard));
        }
        std::printf("| %s | %s%s | %d/%d | %.3f | %.3f | %.0f |\n", name.c_str(), recipe.c_str(),
                    with_prior ? " + prior" : "", liked, ratings, Auc(scores, verdicts),
                    SpearmanCorrelation(score_values, probabilities), seconds);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
