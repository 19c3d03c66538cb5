// ddsim's report: group statistics as the paper's section 5 gives them, a readable table, and the
// files (report.json, listeners.csv, and the paper's two pictures as SVG).
#pragma once

#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "deepdrummer/v1/simulation.pb.h"

namespace dd::sim {

// Adds the groups: "tasteful" (all but random listeners), "random", then one per taste (the
// family tastes together as "family"; random only once). Failed listeners are left out of every
// group.
void SummariseGroups(deepdrummer::v1::SimulationReport& report);

// The listeners, groups and calls as Markdown tables.
std::string FormatReport(const deepdrummer::v1::SimulationReport& report);

// Creates `directory` and checks that a file can be written there: run before an experiment, so
// that hours of sessions do not end in a report that cannot be saved.
absl::Status PrepareReportDirectory(const std::filesystem::path& directory);

// report.json always; listeners.csv, theta.svg and delta.svg when there are listener results.
absl::Status WriteReportFiles(const deepdrummer::v1::SimulationReport& report,
                              const std::filesystem::path& directory);

}  // namespace dd::sim
