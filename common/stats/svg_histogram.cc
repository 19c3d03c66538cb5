#include "common/stats/svg_histogram.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace dd::stats {
namespace {

constexpr double kWidth = 640, kHeight = 400;
constexpr double kLeft = 60, kRight = 20, kTop = 40, kBottom = 60;

std::string Escape(const std::string& text) {
  return absl::StrReplaceAll(text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}});
}

}  // namespace

std::vector<int> BinCounts(const std::vector<double>& values, double low, double high, int bins) {
  std::vector<int> counts(static_cast<size_t>(std::max(bins, 1)), 0);
  const double width = (high - low) / static_cast<double>(counts.size());
  for (double v : values) {
    // A small epsilon keeps values on a bin edge (0.3 from 9/30) out of the bin below.
    int bin = static_cast<int>(std::floor((v - low) / width + 1e-9));
    bin = std::clamp(bin, 0, static_cast<int>(counts.size()) - 1);
    ++counts[static_cast<size_t>(bin)];
  }
  return counts;
}

std::string RenderHistogramSvg(const HistogramChart& chart) {
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  std::vector<std::vector<int>> counts;
  int max_count = 1;
  for (const HistogramSeries& s : chart.series) {
    counts.push_back(BinCounts(s.values, chart.low, chart.high, chart.bins));
    max_count = std::max(max_count, *std::max_element(counts.back().begin(), counts.back().end()));
  }
  auto x_of = [&](double v) { return kLeft + (v - chart.low) / (chart.high - chart.low) * plot_w; };
  auto y_of = [&](double c) { return kTop + plot_h - c / max_count * plot_h; };

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%.0f\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">%s</text>\n",
      kWidth, kHeight, kWidth, kHeight, kWidth / 2, Escape(chart.title));
  // Bars: each bin split between the series.
  const double bin_w = plot_w / chart.bins;
  const double bar_w = bin_w * 0.8 / std::max<size_t>(chart.series.size(), 1);
  for (size_t s = 0; s < chart.series.size(); ++s) {
    for (int b = 0; b < chart.bins; ++b) {
      const int c = counts[s][static_cast<size_t>(b)];
      if (c == 0) continue;
      const double x = kLeft + b * bin_w + bin_w * 0.1 + static_cast<double>(s) * bar_w;
      absl::StrAppendFormat(&svg,
                            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                            "fill=\"%s\" fill-opacity=\"0.85\"><title>%s: %d</title></rect>\n",
                            x, y_of(c), bar_w, kTop + plot_h - y_of(c), chart.series[s].color,
                            Escape(chart.series[s].name), c);
    }
  }
  for (const auto& [value, color] : chart.markers) {
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"%s\" "
                          "stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\n",
                          x_of(value), kTop, x_of(value), kTop + plot_h, color);
  }
  // Axes, ticks at every other bin edge and at whole counts.
  absl::StrAppendFormat(
      &svg,
      "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n"
      "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n",
      kLeft, kTop + plot_h, kLeft + plot_w, kTop + plot_h, kLeft, kTop, kLeft, kTop + plot_h);
  for (int b = 0; b <= chart.bins; b += 2) {
    const double v = chart.low + (chart.high - chart.low) * b / chart.bins;
    absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.1f</text>\n",
                          x_of(v), kTop + plot_h + 16, v);
  }
  const int tick_step = std::max(1, max_count / 5);
  for (int c = 0; c <= max_count; c += tick_step) {
    absl::StrAppendFormat(&svg, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%d</text>\n",
                          kLeft - 6, y_of(c) + 4, c);
  }
  absl::StrAppendFormat(&svg,
                        "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n"
                        "<text x=\"16\" y=\"%.0f\" text-anchor=\"middle\" "
                        "transform=\"rotate(-90 16 %.0f)\">%s</text>\n",
                        kLeft + plot_w / 2, kHeight - 18, Escape(chart.x_label), kTop + plot_h / 2,
                        kTop + plot_h / 2, Escape(chart.y_label));
  for (size_t s = 0; s < chart.series.size(); ++s) {
    const double y = kTop + 8 + 18 * static_cast<double>(s);
    absl::StrAppendFormat(&svg,
                          "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n"
                          "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n",
                          kLeft + plot_w - 170, y, chart.series[s].color, kLeft + plot_w - 152,
                          y + 10, Escape(chart.series[s].name));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace dd::stats
