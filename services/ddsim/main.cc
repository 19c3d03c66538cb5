// ddsim: simulated listeners driving the real system through the SessionService API.
//
// Experiment mode runs N listeners, each with a taste, through the paper's whole two-phase
// protocol and reports theta_init, theta_final and delta per listener and per group with
// confidence intervals, plus the paper's two pictures. Load mode keeps N listeners going at once
// with a think time and reports the latency of every call and the ratings per second held.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/build_info/build_info.h"
#include "common/listeners/listener.h"
#include "common/log/log.h"
#include "common/random/rng.h"
#include "services/ddsim/calibration.h"
#include "services/ddsim/listener_session.h"
#include "services/ddsim/report.h"
#include "services/shared/client_channel.h"
#include "services/shared/flag_checks.h"
#include "services/shared/service_main.h"
#include "services/shared/tls_flags.h"

ABSL_FLAG(std::string, session, "127.0.0.1:50054", "Address of the session service.");
ABSL_FLAG(std::string, render, "127.0.0.1:50051",
          "Address of the render service, used once to render the random loops that calibrate "
          "the listeners.");
ABSL_FLAG(std::string, mode, "experiment",
          "experiment: full sessions and learning figures; "
          "load: N listeners at once, latency and throughput.");
ABSL_FLAG(int, listeners, 25, "Listeners (experiment: sessions; load: concurrent clients).");
ABSL_FLAG(std::string, tastes,
          "dark,bright,kick-on-beat,sparse,busy,offbeat,steady,punchy,family,random",
          "Comma-separated tastes, given to listeners in turn. 'family' picks a sample folder per "
          "listener; 'family:<folder>' names one.");
ABSL_FLAG(int, concurrency, 1, "Experiment mode: sessions run at once.");
ABSL_FLAG(uint32_t, phase1_loops, 0, "Phase I loops per session; 0 = the service's default (80).");
ABSL_FLAG(uint32_t, phase2_loops_per_critic, 0,
          "Phase II loops per critic; 0 = the service's default (30).");
ABSL_FLAG(uint32_t, minibatches_per_rating, 0,
          "Critic training steps after each rating; 0 = the paper's 40.");
ABSL_FLAG(double, learning_rate, 0, "Critic Adam learning rate; 0 = the paper's 5.739e-5.");
ABSL_FLAG(
    bool, rhythm_branch, false,
    "Critics with the per-step onset input beside the MFCC image (CriticConfig.rhythm_branch); "
    "false = the paper's network.");
ABSL_FLAG(double, rhythm_learning_rate, 0,
          "Adam rate of the rhythm branch (CriticConfig.rhythm_learning_rate); 0 = learning_rate.");
ABSL_FLAG(int, phase1_critic_lag, -1,
          "SessionOptions.phase1_critic_lag (0 or 1); -1 = the service's default.");
ABSL_FLAG(uint32_t, max_steps, 0,
          "Phase II sampler step cap per loop; 0 = the service's default (500).");
ABSL_FLAG(double, phase2_threshold, 0,
          "Phase II: the critic's P(like) a loop must reach (SamplerOptions.threshold); 0 = the "
          "service's default (the paper's 0.95).");
ABSL_FLAG(double, like_rate, 0.37, "Share of random loops each listener likes.");
ABSL_FLAG(double, decision_noise, 0.25,
          "Listener randomness: sigmoid width in standard deviations of its preference.");
ABSL_FLAG(int, calibration_loops, 200, "Random loops rendered to calibrate the listeners.");
ABSL_FLAG(uint64_t, seed, 0, "Seed of tastes, listeners and sessions; 0 draws one (reported).");
ABSL_FLAG(std::string, think_time, "auto",
          "Listening time before each rating, e.g. 9s; auto = 0 in experiment mode, 9s in load.");
ABSL_FLAG(absl::Duration, duration, absl::Minutes(10), "Load mode: stop after this long.");
ABSL_FLAG(uint64_t, max_ratings, 0, "Load mode: stop after this many ratings; 0 = no limit.");
ABSL_FLAG(absl::Duration, call_timeout, absl::Minutes(10),
          "Deadline of every call (NextLoop may wait for training and sampling).");
ABSL_FLAG(std::string, out_dir, "ddsim-report",
          "Where report.json, listeners.csv, theta.svg and delta.svg are written.");
ABSL_FLAG(bool, delete_users, false, "Delete each simulated user (and its data) when done.");

namespace {
namespace v1 = deepdrummer::v1;
using dd::listeners::Listener;

// TLS as the --tls_* flags say; receives inline WAVs (0.8 MB) and exports (larger).
std::shared_ptr<grpc::Channel> Channel(const std::string& address,
                                       dd::ClientChannelOptions options) {
  options.max_send_message_bytes = 16 << 20;
  return dd::ClientChannel(address, options);
}

int Fail(const absl::Status& status) {
  dd::log::Error("ddsim.failed", {{"error", status.ToString()}});
  std::cerr << "ddsim: " << status.message() << "\n";
  return EXIT_FAILURE;
}

v1::SessionOptions SessionOptionsFromFlags(uint64_t seed) {
  v1::SessionOptions options;
  if (uint32_t n = absl::GetFlag(FLAGS_phase1_loops)) options.set_phase1_loops(n);
  if (uint32_t n = absl::GetFlag(FLAGS_phase2_loops_per_critic)) {
    options.set_phase2_loops_per_critic(n);
  }
  if (uint32_t n = absl::GetFlag(FLAGS_minibatches_per_rating)) {
    options.mutable_critic()->set_minibatches_per_rating(n);
  }
  if (double lr = absl::GetFlag(FLAGS_learning_rate); lr > 0) {
    options.mutable_critic()->set_learning_rate(lr);
  }
  if (absl::GetFlag(FLAGS_rhythm_branch)) options.mutable_critic()->set_rhythm_branch(true);
  if (double lr = absl::GetFlag(FLAGS_rhythm_learning_rate); lr > 0) {
    options.mutable_critic()->set_rhythm_learning_rate(lr);
  }
  if (int lag = absl::GetFlag(FLAGS_phase1_critic_lag); lag >= 0) {
    options.set_phase1_critic_lag(static_cast<uint32_t>(lag));
  }
  if (uint32_t n = absl::GetFlag(FLAGS_max_steps)) options.mutable_sampler()->set_max_steps(n);
  if (double t = absl::GetFlag(FLAGS_phase2_threshold); t > 0) {
    options.mutable_sampler()->set_threshold(t);
  }
  options.set_seed(seed);
  return options;
}

// Listener i gets taste i mod |tastes|; "family" picks a folder from the listener's seed.
absl::StatusOr<std::vector<Listener>> MakeListeners(const std::vector<std::string>& tastes,
                                                    int count, uint64_t seed,
                                                    const dd::sim::RandomLoopsHeard& heard,
                                                    const dd::listeners::ListenerOptions& options) {
  std::vector<Listener> listeners;
  dd::Rng rng(seed);
  for (int i = 0; i < count; ++i) {
    std::string name = tastes[static_cast<size_t>(i) % tastes.size()];
    const uint64_t listener_seed = rng.Fork();
    if (name == "family") {
      if (heard.families.empty()) {
        return absl::FailedPreconditionError(
            "the 'family' taste needs sample folders, and every sample is at the top level");
      }
      dd::Rng pick(listener_seed);
      name = absl::StrCat("family:", heard.families[pick.UniformIndex(heard.families.size())]);
    }
    auto taste = dd::listeners::TasteByName(name);
    if (!taste.ok()) return taste.status();
    auto calibration = dd::listeners::Calibrate(*taste, heard.loops, options);
    if (!calibration.ok()) return calibration.status();
    listeners.emplace_back(*std::move(taste), *calibration, listener_seed);
  }
  return listeners;
}

}  // namespace

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "services/ddsim") ||
           absl::StrContains(file, "services/shared/tls_flags");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  usage.normalize_filename = [](absl::string_view file) {
    return dd::FlagFileForHelp(std::string_view(file.data(), file.size()));
  };
  usage.version_string = [] {
    return absl::StrCat("ddsim (deepdrummer ", std::string(dd::BuildVersion()), ", commit ",
                        std::string(dd::BuildCommit()), ")\n");
  };
  absl::SetFlagsUsageConfig(usage);
  absl::SetProgramUsageMessage(
      "simulated listeners through the whole DeepDrummer protocol.\n"
      "Usage: ddsim [--mode=experiment|load] [--listeners=25] [--session=127.0.0.1:50054]\n"
      "             [--render=127.0.0.1:50051] [--out_dir=ddsim-report]");
  absl::ParseCommandLine(argc, argv);
  dd::log::SetComponent("ddsim");

  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode != "experiment" && mode != "load") {
    return Fail(absl::InvalidArgumentError("--mode must be experiment or load"));
  }
  const bool load = mode == "load";
  const int count = absl::GetFlag(FLAGS_listeners);
  if (count < 1 || count > 10000) {
    return Fail(absl::InvalidArgumentError("--listeners must be in [1, 10000]"));
  }
  if (absl::Status s = dd::FirstError(
          {dd::CheckIntFlag("concurrency", absl::GetFlag(FLAGS_concurrency), 1, 10000),
           dd::CheckPositiveDurationFlag("duration", absl::GetFlag(FLAGS_duration)),
           dd::CheckTargetFlag("session", absl::GetFlag(FLAGS_session)),
           dd::CheckTargetFlag("render", absl::GetFlag(FLAGS_render))});
      !s.ok()) {
    return Fail(s);
  }
  // Checked now, not after a run of hours whose report could not then be saved.
  if (absl::Status s = dd::sim::PrepareReportDirectory(absl::GetFlag(FLAGS_out_dir)); !s.ok()) {
    return Fail(s);
  }
  const int concurrency = load ? count : std::min(absl::GetFlag(FLAGS_concurrency), count);
  std::vector<std::string> tastes =
      absl::StrSplit(absl::GetFlag(FLAGS_tastes), ',', absl::SkipWhitespace());
  if (tastes.empty()) return Fail(absl::InvalidArgumentError("--tastes is empty"));
  for (const std::string& name : tastes) {
    // Checked before the calibration renders, so a typo fails at once.
    if (name == "family") continue;
    if (auto taste = dd::listeners::TasteByName(name); !taste.ok()) return Fail(taste.status());
  }
  absl::Duration think_time = load ? absl::Seconds(9) : absl::ZeroDuration();
  if (absl::GetFlag(FLAGS_think_time) != "auto" &&
      (!absl::ParseDuration(absl::GetFlag(FLAGS_think_time), &think_time) ||
       think_time < absl::ZeroDuration())) {
    return Fail(absl::InvalidArgumentError("--think_time must be 'auto' or a duration like 9s"));
  }
  uint64_t seed = absl::GetFlag(FLAGS_seed);
  if (seed == 0) seed = std::random_device{}() | (uint64_t{std::random_device{}()} << 32);
  dd::listeners::ListenerOptions listener_options;
  listener_options.like_rate = absl::GetFlag(FLAGS_like_rate);
  listener_options.decision_noise = absl::GetFlag(FLAGS_decision_noise);
  if (auto valid = dd::listeners::ValidateListenerOptions(listener_options); !valid.ok()) {
    return Fail(valid);
  }

  auto channel_options = dd::ClientChannelOptionsFromFlags();
  if (!channel_options.ok()) return Fail(channel_options.status());
  auto session =
      v1::SessionService::NewStub(Channel(absl::GetFlag(FLAGS_session), *channel_options));
  auto render = v1::RenderService::NewStub(Channel(absl::GetFlag(FLAGS_render), *channel_options));
  dd::sim::CallRecorder recorder;
  const absl::Duration call_timeout = absl::GetFlag(FLAGS_call_timeout);

  v1::SimulationReport report;
  report.set_mode(mode);
  report.set_session_address(absl::GetFlag(FLAGS_session));
  *report.mutable_session_options() = SessionOptionsFromFlags(0);
  report.mutable_session_options()->clear_seed();
  report.set_like_rate(listener_options.like_rate);
  report.set_decision_noise(listener_options.decision_noise);
  report.set_calibration_loops(static_cast<uint32_t>(absl::GetFlag(FLAGS_calibration_loops)));
  report.set_seed(seed);
  report.set_think_time_seconds(absl::ToDoubleSeconds(think_time));

  dd::log::Info("calibration.start", {{"loops", absl::GetFlag(FLAGS_calibration_loops)}});
  auto heard = dd::sim::HearRandomLoops(*render, report.session_options().priors(),
                                        absl::GetFlag(FLAGS_calibration_loops), seed, call_timeout,
                                        recorder);
  if (!heard.ok()) return Fail(heard.status());
  auto listeners = MakeListeners(tastes, count, seed, *heard, listener_options);
  if (!listeners.ok()) return Fail(listeners.status());

  dd::sim::SessionPlan plan;
  plan.think_time = think_time;
  plan.call_timeout = call_timeout;
  plan.delete_user = absl::GetFlag(FLAGS_delete_users);
  plan.run_id = absl::StrFormat("ddsim-%016x-%d", seed, absl::ToUnixMicros(absl::Now()));

  std::atomic<bool> stop{false};
  std::atomic<int> next_listener{0};
  absl::Mutex results_mutex;
  std::vector<v1::ListenerResult> results;
  uint64_t completed = 0;
  const absl::Time start = absl::Now();
  const uint64_t max_ratings = absl::GetFlag(FLAGS_max_ratings);
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);

  auto run_one = [&](int listener_index, int session_number) {
    dd::sim::SessionPlan this_plan = plan;
    this_plan.options = SessionOptionsFromFlags(dd::Rng::SplitMix(seed + listener_index) +
                                                static_cast<uint64_t>(session_number));
    const int index = listener_index + session_number * count;
    auto result = dd::sim::RunListenerSession(*session, (*listeners)[listener_index], this_plan,
                                              index, recorder, load ? &stop : nullptr);
    if (!result.ok() && absl::IsCancelled(result.status())) return;  // Stopped mid-session.
    v1::ListenerResult out;
    if (result.ok()) {
      out = *std::move(result);
    } else {
      out.set_index(static_cast<uint32_t>(index));
      out.set_taste((*listeners)[listener_index].taste().name);
      out.set_error(result.status().ToString());
    }
    dd::log::Info("listener.done", {{"index", index},
                                    {"taste", out.taste()},
                                    {"theta_init", out.theta_init()},
                                    {"theta_final", out.theta_final()},
                                    {"error", out.error()},
                                    {"seconds", out.seconds()}});
    absl::MutexLock lock(&results_mutex);
    completed += out.error().empty();
    results.push_back(std::move(out));
  };

  std::vector<std::thread> workers;
  for (int w = 0; w < concurrency; ++w) {
    workers.emplace_back([&, w] {
      if (load) {
        for (int n = 0; !stop.load(); ++n)
          run_one(w, n);
        return;
      }
      for (int i = next_listener++; i < count; i = next_listener++)
        run_one(i, 0);
    });
  }
  if (load) {
    while (absl::Now() - start < duration &&
           (max_ratings == 0 || recorder.ratings() < max_ratings)) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    stop = true;
  }
  for (std::thread& t : workers)
    t.join();

  report.set_seconds(absl::ToDoubleSeconds(absl::Now() - start));
  std::sort(results.begin(), results.end(),
            [](const auto& a, const auto& b) { return a.index() < b.index(); });
  for (auto& r : results)
    *report.add_listeners() = std::move(r);
  report.set_sessions_completed(completed);
  recorder.FillReport(report);
  report.set_ratings_per_second(report.seconds() > 0 ? report.ratings() / report.seconds() : 0);
  dd::sim::SummariseGroups(report);

  std::cout << dd::sim::FormatReport(report) << std::flush;
  if (auto written = dd::sim::WriteReportFiles(report, absl::GetFlag(FLAGS_out_dir));
      !written.ok()) {
    return Fail(written);
  }
  std::cout << "report: " << absl::GetFlag(FLAGS_out_dir) << "/report.json\n";
  bool all_good = true;
  for (const auto& r : report.listeners())
    all_good &= r.error().empty() && r.consistent();
  return all_good && (load || report.sessions_completed() == static_cast<uint64_t>(count))
             ? EXIT_SUCCESS
             : EXIT_FAILURE;
}
