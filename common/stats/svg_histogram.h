// Histograms as self-contained SVG files, so reports need no plotting package: grouped bars of
// one or more series over equal-width bins, with axes, ticks, a legend and a title.
#pragma once

#include <string>
#include <vector>

namespace dd::stats {

struct HistogramSeries {
  std::string name;   // Legend entry.
  std::string color;  // Any SVG colour, e.g. "#1f77b4".
  std::vector<double> values;
};

struct HistogramChart {
  std::string title;
  std::string x_label;
  std::string y_label = "listeners";
  double low = 0;   // Left edge of the first bin.
  double high = 1;  // Right edge of the last bin; values equal to it fall in the last bin.
  int bins = 10;
  std::vector<HistogramSeries> series;
  // Optional vertical marker lines (e.g. each series' mean), drawn dashed in the series' colour.
  std::vector<std::pair<double, std::string>> markers;
};

// Per-bin counts of `values` (values outside [low, high] are clamped into the edge bins).
std::vector<int> BinCounts(const std::vector<double>& values, double low, double high, int bins);

std::string RenderHistogramSvg(const HistogramChart& chart);

}  // namespace dd::stats
