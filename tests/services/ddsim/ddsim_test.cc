// ddsim end to end: the real binary against the whole stack (four services as processes, the
// test's PostgreSQL), with short phases. Checks the report's consistency (counts, ranges, group
// statistics against the listeners, files), not the learning figures: those need full sessions.
#include <sys/wait.h>

#include <cstdlib>
#include <regex>
#include <set>

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "deepdrummer/v1/simulation.pb.h"
#include "tests/services/session/session_stack.h"
#include "tests/support/test_support.h"

namespace dd::testing {
namespace {
namespace v1 = deepdrummer::v1;

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr.
};

RunResult RunDdsim(const SessionStack& stack, const std::vector<std::string>& flags,
                   const TempDir& dir) {
  const std::string log = (dir.path() / "ddsim.log").string();
  std::string command = absl::StrCat(DD_DDSIM_BIN, " --session=", stack.session_address(),
                                     " --render=", stack.render_address(), " ",
                                     absl::StrJoin(flags, " "), " > ", log, " 2>&1");
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(log)};
}

v1::SimulationReport ReadReport(const std::filesystem::path& path) {
  v1::SimulationReport report;
  const auto parsed = google::protobuf::util::JsonStringToMessage(ReadFile(path), &report);
  EXPECT_TRUE(parsed.ok()) << parsed.ToString();
  return report;
}

class DdsimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (SharedDrumSamplesDir().empty() && !RequireSharedData()) return;
    logs_ = new TempDir();
    dd::testing::SessionStackOptions options;
    options.samples_dir = SharedDrumSamplesDir().string();
    options.log_dir = logs_->path();  // To find ddsim's request ids in dd-session's log.
    stack_ = new SessionStack("ddsim_test", options);
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
    delete logs_;
    logs_ = nullptr;
  }
  void SetUp() override {
    DD_REQUIRE_SHARED_SAMPLES();
    ASSERT_TRUE(stack_->up());
  }
  static inline TempDir* logs_ = nullptr;
  static SessionStack* stack_;
};
SessionStack* DdsimTest::stack_ = nullptr;

TEST_F(DdsimTest, ShortExperimentWritesAConsistentReport) {
  TempDir out;
  const int64_t ratings_before = stack_->Count("SELECT count(*) FROM session.ratings");
  const RunResult run =
      RunDdsim(*stack_,
               {"--listeners=4", "--tastes=dark,random,family,kick-on-beat", "--concurrency=2",
                "--phase1_loops=6", "--phase2_loops_per_critic=3", "--minibatches_per_rating=2",
                "--max_steps=40", "--calibration_loops=40", "--seed=7",
                "--out_dir=" + (out.path() / "report").string()},
               out);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("| tasteful | 3 |"), std::string::npos) << run.output;

  const v1::SimulationReport report = ReadReport(out.path() / "report" / "report.json");
  EXPECT_EQ(report.mode(), "experiment");
  EXPECT_EQ(report.seed(), 7u);
  ASSERT_EQ(report.listeners_size(), 4);
  std::set<std::string> folders = {"808", "beatboxes", "dfam", "drumhits", "vermona"};
  std::vector<double> tasteful_init;
  int tasteful_improved = 0;
  for (int i = 0; i < 4; ++i) {
    const v1::ListenerResult& r = report.listeners(i);
    SCOPED_TRACE(r.taste());
    EXPECT_EQ(r.index(), static_cast<uint32_t>(i));
    EXPECT_TRUE(r.error().empty()) << r.error();
    EXPECT_TRUE(r.consistent());
    EXPECT_EQ(r.phase1_rated(), 6u);
    EXPECT_EQ(r.phase2_rated(), 6u);
    EXPECT_EQ(r.init_rated(), 3u);
    EXPECT_EQ(r.final_rated(), 3u);
    EXPECT_LE(r.init_liked(), 3u);
    EXPECT_LE(r.final_liked(), 3u);
    EXPECT_EQ(r.final_critic_version(), 6u);
    EXPECT_DOUBLE_EQ(r.theta_init(), r.init_liked() / 3.0);
    EXPECT_DOUBLE_EQ(r.theta_final(), r.final_liked() / 3.0);
    EXPECT_DOUBLE_EQ(r.delta(), r.theta_final() - r.theta_init());
    EXPECT_LE(r.delta_interval().low(), r.delta());
    EXPECT_GE(r.delta_interval().high(), r.delta());
    EXPECT_GE(r.delta_interval().low(), -1.0);
    EXPECT_LE(r.delta_interval().high(), 1.0);
    EXPECT_DOUBLE_EQ(r.phase1_like_rate(), r.phase1_liked() / 6.0);
    if (r.taste() != "random") {
      tasteful_init.push_back(r.theta_init());
      tasteful_improved += r.delta() > 0;
    }
  }
  EXPECT_EQ(report.listeners(0).taste(), "dark");
  EXPECT_EQ(report.listeners(1).taste(), "random");
  const std::vector<std::string> family = absl::StrSplit(report.listeners(2).taste(), ':');
  ASSERT_EQ(family.size(), 2u);
  EXPECT_EQ(family[0], "family");
  EXPECT_TRUE(folders.count(family[1])) << family[1];

  EXPECT_EQ(report.ratings(), 48u);
  EXPECT_EQ(report.sessions_completed(), 4u);
  EXPECT_EQ(stack_->Count("SELECT count(*) FROM session.ratings") - ratings_before, 48);
  // Every call carried a request id of ddsim's, "<run>/<listener>-<call>": listener 3's Rate
  // calls are in dd-session's log under them.
  const std::string session_log = stack_->Log("session");
  EXPECT_TRUE(absl::StrContains(session_log, R"("method":"/deepdrummer.v1.SessionService/Rate")"));
  EXPECT_TRUE(std::regex_search(
      session_log, std::regex(R"re("method":"/deepdrummer\.v1\.SessionService/Rate"[^\n]*)re"
                              R"re("request_id":"ddsim-[0-9a-f]+-[0-9]+/3-[0-9]+")re")));
  ASSERT_GE(report.groups_size(), 2);
  const v1::GroupSummary& tasteful = report.groups(0);
  EXPECT_EQ(tasteful.name(), "tasteful");
  EXPECT_EQ(tasteful.listeners(), 3u);
  EXPECT_NEAR(tasteful.theta_init().estimate(),
              (tasteful_init[0] + tasteful_init[1] + tasteful_init[2]) / 3, 1e-12);
  EXPECT_NEAR(tasteful.share_improved().estimate(), tasteful_improved / 3.0, 1e-12);
  EXPECT_LE(tasteful.share_improved().low(), tasteful.share_improved().estimate());
  EXPECT_EQ(report.groups(1).name(), "random");
  EXPECT_EQ(report.groups(1).listeners(), 1u);

  bool saw_rate = false;
  for (const v1::CallLatency& call : report.calls()) {
    EXPECT_EQ(call.errors(), 0u) << call.method();
    EXPECT_LE(call.p50_ms(), call.p99_ms());
    EXPECT_LE(call.p99_ms(), call.max_ms());
    if (call.method() == "SessionService.Rate") {
      saw_rate = true;
      EXPECT_EQ(call.calls(), 48u);
    }
  }
  EXPECT_TRUE(saw_rate);

  const std::string theta = ReadFile(out.path() / "report" / "theta.svg");
  EXPECT_EQ(theta.rfind("<svg", 0), 0u);
  EXPECT_NE(theta.find("theta_final"), std::string::npos);
  EXPECT_EQ(ReadFile(out.path() / "report" / "delta.svg").rfind("<svg", 0), 0u);
  const std::vector<std::string> csv_lines =
      absl::StrSplit(ReadFile(out.path() / "report" / "listeners.csv"), '\n', absl::SkipEmpty());
  EXPECT_EQ(csv_lines.size(), 5u);
}

TEST_F(DdsimTest, LoadModeStopsAtTheRatingCountAndReportsEveryCall) {
  TempDir out;
  const RunResult run =
      RunDdsim(*stack_,
               {"--mode=load", "--listeners=2", "--think_time=50ms", "--max_ratings=6",
                "--duration=5m", "--phase1_loops=20", "--minibatches_per_rating=1",
                "--calibration_loops=20", "--delete_users", "--out_dir=" + out.path().string()},
               out);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const v1::SimulationReport report = ReadReport(out.path() / "report.json");
  EXPECT_EQ(report.mode(), "load");
  EXPECT_NEAR(report.think_time_seconds(), 0.05, 1e-9);
  // Both listeners may each finish the rating in flight when the count is reached.
  EXPECT_GE(report.ratings(), 6u);
  EXPECT_LE(report.ratings(), 8u);
  EXPECT_GT(report.ratings_per_second(), 0);
  EXPECT_EQ(report.sessions_completed(), 0u);
  EXPECT_TRUE(report.errors_by_code().empty());
  std::set<std::string> methods;
  for (const v1::CallLatency& call : report.calls())
    methods.insert(call.method());
  EXPECT_TRUE(methods.count("SessionService.NextLoop"));
  EXPECT_TRUE(methods.count("SessionService.Rate"));
  EXPECT_TRUE(methods.count("SessionService.StartSession"));
}

TEST_F(DdsimTest, BadFlagsFailWithAClearMessage) {
  TempDir out;
  RunResult run = RunDdsim(*stack_, {"--tastes=jazz", "--out_dir=" + out.path().string()}, out);
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("unknown taste \"jazz\""), std::string::npos) << run.output;
  run = RunDdsim(*stack_, {"--mode=stress"}, out);
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("--mode must be experiment or load"), std::string::npos);
  run = RunDdsim(*stack_, {"--think_time=soon"}, out);
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("--think_time"), std::string::npos);
  // Refused before the calibration renders (it used to run 0 sessions at once as 1).
  run = RunDdsim(*stack_, {"--concurrency=0"}, out);
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("--concurrency must be in [1, 10000], got 0"), std::string::npos)
      << run.output;
  // A report folder that cannot be written fails before the calibration, not after the run.
  const std::filesystem::path file = out.path() / "a-file";
  WriteFile(file, "not a folder");
  run = RunDdsim(*stack_, {"--out_dir=" + (file / "report").string()}, out);
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("could not create"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("calibration.start"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace dd::testing
