#include "services/ddsim/report.h"

#include <fstream>
#include <map>
#include <system_error>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/stats/statistics.h"
#include "common/stats/svg_histogram.h"

namespace dd::sim {
namespace v1 = deepdrummer::v1;
namespace {

constexpr char kInitColor[] = "#9e9e9e";
constexpr char kFinalColor[] = "#1f77b4";
constexpr char kRandomColor[] = "#d62728";

std::string TasteFamily(const std::string& taste) {
  return taste.substr(0, taste.find(':'));
}

void SetInterval(const stats::Interval& in, v1::Interval* out) {
  out->set_estimate(in.estimate);
  out->set_low(in.low);
  out->set_high(in.high);
}

v1::GroupSummary Summarise(const std::string& name,
                           const std::vector<const v1::ListenerResult*>& members) {
  v1::GroupSummary group;
  group.set_name(name);
  group.set_listeners(static_cast<uint32_t>(members.size()));
  std::vector<double> init, final, delta;
  int improved = 0, improved_by_0_2 = 0;
  double like_rate = 0;
  for (const v1::ListenerResult* r : members) {
    init.push_back(r->theta_init());
    final.push_back(r->theta_final());
    delta.push_back(r->delta());
    improved += r->delta() > 1e-12;
    // Thetas are shares of 30; 0.2 must not miss by a rounding error.
    improved_by_0_2 += r->delta() >= 0.2 - 1e-9;
    like_rate += r->phase1_like_rate() / static_cast<double>(members.size());
  }
  SetInterval(stats::MeanInterval(init), group.mutable_theta_init());
  SetInterval(stats::MeanInterval(final), group.mutable_theta_final());
  SetInterval(stats::MeanInterval(delta), group.mutable_delta());
  const int n = static_cast<int>(members.size());
  SetInterval(stats::WilsonInterval(improved, n), group.mutable_share_improved());
  SetInterval(stats::WilsonInterval(improved_by_0_2, n), group.mutable_share_improved_by_0_2());
  group.set_phase1_like_rate(like_rate);
  return group;
}

std::string Ci(const v1::Interval& i) {
  return absl::StrFormat("%.2f [%.2f, %.2f]", i.estimate(), i.low(), i.high());
}

absl::Status WriteFile(const std::filesystem::path& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("could not write ", path.string()));
  return absl::OkStatus();
}

}  // namespace

void SummariseGroups(v1::SimulationReport& report) {
  std::vector<const v1::ListenerResult*> tasteful, random;
  std::map<std::string, std::vector<const v1::ListenerResult*>> by_taste;
  for (const v1::ListenerResult& r : report.listeners()) {
    if (!r.error().empty()) continue;
    if (r.taste() == "random") {
      random.push_back(&r);
      continue;
    }
    tasteful.push_back(&r);
    by_taste[TasteFamily(r.taste())].push_back(&r);
  }
  if (!tasteful.empty()) *report.add_groups() = Summarise("tasteful", tasteful);
  if (!random.empty()) *report.add_groups() = Summarise("random", random);
  for (const auto& [taste, members] : by_taste)
    *report.add_groups() = Summarise(taste, members);
}

std::string FormatReport(const v1::SimulationReport& report) {
  std::string out;
  if (report.listeners_size() > 0) {
    out +=
        "| # | taste | theta_init | theta_final | delta [95% CI] | Phase I likes | consistent |\n"
        "|---|---|---|---|---|---|---|\n";
    for (const v1::ListenerResult& r : report.listeners()) {
      if (!r.error().empty()) {
        absl::StrAppendFormat(&out, "| %d | %s | failed: %s |||||\n", r.index(), r.taste(),
                              r.error());
        continue;
      }
      absl::StrAppendFormat(&out, "| %d | %s | %.2f | %.2f | %s | %.2f | %s |\n", r.index(),
                            r.taste(), r.theta_init(), r.theta_final(), Ci(r.delta_interval()),
                            r.phase1_like_rate(), r.consistent() ? "yes" : "NO");
    }
    out +=
        "\n| group | n | theta_init | theta_final | delta | delta > 0 | delta >= 0.2 |\n"
        "|---|---|---|---|---|---|---|\n";
    for (const v1::GroupSummary& g : report.groups()) {
      absl::StrAppendFormat(&out, "| %s | %d | %s | %s | %s | %s | %s |\n", g.name(), g.listeners(),
                            Ci(g.theta_init()), Ci(g.theta_final()), Ci(g.delta()),
                            Ci(g.share_improved()), Ci(g.share_improved_by_0_2()));
    }
    out += "(means over listeners with 95% t intervals; shares with 95% Wilson intervals)\n\n";
  }
  out += "| call | calls | errors | p50 | p99 | max |\n|---|---|---|---|---|---|\n";
  for (const v1::CallLatency& c : report.calls()) {
    absl::StrAppendFormat(&out, "| %s | %d | %d | %.0f ms | %.0f ms | %.0f ms |\n", c.method(),
                          c.calls(), c.errors(), c.p50_ms(), c.p99_ms(), c.max_ms());
  }
  absl::StrAppendFormat(&out, "\n%d ratings, %d sessions completed in %.0f s: %.2f ratings/s",
                        report.ratings(), report.sessions_completed(), report.seconds(),
                        report.ratings_per_second());
  for (const auto& [code, count] : report.errors_by_code()) {
    absl::StrAppendFormat(&out, "; %s x%d", code, count);
  }
  out += "\n";
  return out;
}

absl::Status PrepareReportDirectory(const std::filesystem::path& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("could not create ", directory.string(), ": ", error.message()));
  }
  const std::filesystem::path probe = directory / ".ddsim-write-check";
  if (absl::Status s = WriteFile(probe, ""); !s.ok()) return s;
  std::filesystem::remove(probe, error);
  return absl::OkStatus();
}

absl::Status WriteReportFiles(const v1::SimulationReport& report,
                              const std::filesystem::path& directory) {
  if (absl::Status s = PrepareReportDirectory(directory); !s.ok()) return s;
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  if (auto status = google::protobuf::util::MessageToJsonString(report, &json, options);
      !status.ok()) {
    return absl::InternalError(absl::StrCat("report to JSON: ", status.ToString()));
  }
  if (absl::Status s = WriteFile(directory / "report.json", json); !s.ok()) return s;
  if (report.listeners_size() == 0) return absl::OkStatus();

  std::string csv =
      "index,taste,theta_init,theta_final,delta,delta_low,delta_high,init_liked,init_rated,"
      "final_liked,final_rated,phase1_like_rate,consistent,seconds,error\n";
  std::vector<double> init, final, delta_tasteful, delta_random;
  for (const v1::ListenerResult& r : report.listeners()) {
    absl::StrAppendFormat(&csv, "%d,%s,%.4f,%.4f,%.4f,%.4f,%.4f,%d,%d,%d,%d,%.4f,%d,%.1f,\"%s\"\n",
                          r.index(), r.taste(), r.theta_init(), r.theta_final(), r.delta(),
                          r.delta_interval().low(), r.delta_interval().high(), r.init_liked(),
                          r.init_rated(), r.final_liked(), r.final_rated(), r.phase1_like_rate(),
                          r.consistent(), r.seconds(), r.error());
    if (!r.error().empty()) continue;
    if (r.taste() == "random") {
      delta_random.push_back(r.delta());
      continue;
    }
    init.push_back(r.theta_init());
    final.push_back(r.theta_final());
    delta_tasteful.push_back(r.delta());
  }
  if (absl::Status s = WriteFile(directory / "listeners.csv", csv); !s.ok()) return s;

  // The paper's Figure: distributions of theta_init and theta_final, then of delta.
  stats::HistogramChart theta;
  theta.title =
      absl::StrFormat("Liked share of Phase II loops, %d tasteful listeners", init.size());
  theta.x_label = "theta (share of loops liked)";
  theta.series = {{"theta_init (untrained critic)", kInitColor, init},
                  {"theta_final (final critic)", kFinalColor, final}};
  theta.markers = {{stats::MeanInterval(init).estimate, kInitColor},
                   {stats::MeanInterval(final).estimate, kFinalColor}};
  if (absl::Status s = WriteFile(directory / "theta.svg", stats::RenderHistogramSvg(theta));
      !s.ok()) {
    return s;
  }
  stats::HistogramChart delta;
  delta.title = "Improvement delta = theta_final - theta_init";
  delta.x_label = "delta";
  delta.low = -1;
  delta.high = 1;
  delta.bins = 20;
  delta.series = {{"tasteful listeners", kFinalColor, delta_tasteful}};
  if (!delta_random.empty())
    delta.series.push_back({"random listeners", kRandomColor, delta_random});
  delta.markers = {{0.0, "black"}};
  return WriteFile(directory / "delta.svg", stats::RenderHistogramSvg(delta));
}

}  // namespace dd::sim
