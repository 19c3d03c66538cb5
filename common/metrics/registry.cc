#include "common/metrics/registry.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace dd::metrics {
namespace {

bool IsValidName(const std::string& name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool ok = absl::ascii_isalpha(c) || c == '_' || (allow_colon && c == ':') ||
                    (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

// The text format's escapes: backslash and newline in help; those and '"' in label values.
std::string Escape(const std::string& text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// {a="x",b="y"} plus an optional last pair (a histogram's le); empty when there are no labels.
std::string LabelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     const std::string& extra_name = "", const std::string& extra_value = "") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(&out, out.empty() ? "{" : ",", names[i], "=\"", Escape(values[i], true), "\"");
  }
  if (!extra_name.empty()) {
    absl::StrAppend(&out, out.empty() ? "{" : ",", extra_name, "=\"", extra_value, "\"");
  }
  if (!out.empty()) out += "}";
  return out;
}

std::string FormatNumber(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return absl::StrFormat("%.10g", value);
}

void WriteHeader(std::string& out, const std::string& name, const std::string& help,
                 const char* type) {
  absl::StrAppend(&out, "# HELP ", name, " ", Escape(help, false), "\n# TYPE ", name, " ", type,
                  "\n");
}

class SampledFamily final : public FamilyBase {
 public:
  SampledFamily(std::string name, std::string help, const char* type, std::function<double()> read)
      : name_(std::move(name)), help_(std::move(help)), type_(type), read_(std::move(read)) {}
  const std::string& name() const override { return name_; }
  void Write(std::string& out) const override {
    WriteHeader(out, name_, help_, type_);
    const double value = read_();
    absl::StrAppend(&out, name_, " ", std::isnan(value) ? "NaN" : FormatNumber(value), "\n");
  }

 private:
  const std::string name_;
  const std::string help_;
  const char* const type_;
  const std::function<double()> read_;
};

}  // namespace

Histogram::Histogram(const std::vector<double>& upper_bounds)
    : upper_bounds_(upper_bounds),
      bucket_counts_(new std::atomic<uint64_t>[upper_bounds.size() + 1]) {
  for (size_t i = 0; i <= upper_bounds_.size(); ++i)
    bucket_counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  // Bucket i holds the values <= bound i (Prometheus' "le"); the last one everything above.
  const size_t bucket = static_cast<size_t>(
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin());
  bucket_counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.upper_bounds = upper_bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    running += bucket_counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative_counts.push_back(running);
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

template <typename Metric>
Metric& Family<Metric>::WithLabels(const std::vector<std::string>& label_values) {
  std::vector<std::string> key = label_values;
  key.resize(label_names_.size());
  absl::MutexLock lock(&mutex_);
  std::unique_ptr<Metric>& child = children_[key];
  if (child == nullptr) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      child = std::make_unique<Histogram>(upper_bounds_);
    } else {
      child = std::make_unique<Metric>();
    }
  }
  return *child;
}

template <typename Metric>
void Family<Metric>::Write(std::string& out) const {
  const char* type = std::is_same_v<Metric, Counter> ? "counter"
                     : std::is_same_v<Metric, Gauge> ? "gauge"
                                                     : "histogram";
  WriteHeader(out, name_, help_, type);
  absl::MutexLock lock(&mutex_);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      const Histogram::Snapshot read = child->Read();
      for (size_t i = 0; i <= read.upper_bounds.size(); ++i) {
        const std::string bound =
            i < read.upper_bounds.size() ? FormatNumber(read.upper_bounds[i]) : std::string("+Inf");
        absl::StrAppend(&out, name_, "_bucket", LabelSet(label_names_, values, "le", bound), " ",
                        read.cumulative_counts[i], "\n");
      }
      absl::StrAppend(&out, name_, "_sum", LabelSet(label_names_, values), " ",
                      FormatNumber(read.sum), "\n", name_, "_count", LabelSet(label_names_, values),
                      " ", read.cumulative_counts.back(), "\n");
    } else {
      absl::StrAppend(&out, name_, LabelSet(label_names_, values), " ", child->value(), "\n");
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <typename Metric>
absl::StatusOr<Family<Metric>*> Registry::Add(std::string name, std::string help,
                                              std::vector<std::string> label_names,
                                              std::vector<double> upper_bounds) {
  for (const std::string& label : label_names) {
    if (!IsValidName(label, /*allow_colon=*/false) || absl::StartsWith(label, "__") ||
        label == "le") {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", label, "\" is not a label name for ", name));
    }
  }
  for (size_t i = 0; i < upper_bounds.size(); ++i) {
    if (!std::isfinite(upper_bounds[i]) || (i > 0 && upper_bounds[i] <= upper_bounds[i - 1])) {
      return absl::InvalidArgumentError(
          absl::StrCat("the bucket bounds of ", name, " must be finite and increasing"));
    }
  }
  std::unique_ptr<Family<Metric>> family(new Family<Metric>(
      std::move(name), std::move(help), std::move(label_names), std::move(upper_bounds)));
  Family<Metric>* added = family.get();
  if (absl::Status kept = Keep(std::move(family)); !kept.ok()) return kept;
  return added;
}

absl::Status Registry::Keep(std::unique_ptr<FamilyBase> family) {
  if (!IsValidName(family->name(), /*allow_colon=*/true)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", family->name(), "\" is not a metric name"));
  }
  absl::MutexLock lock(&mutex_);
  if (std::find(names_.begin(), names_.end(), family->name()) != names_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("metric ", family->name(), " is already registered"));
  }
  names_.push_back(family->name());
  families_.push_back(std::move(family));
  return absl::OkStatus();
}

absl::Status Registry::AddSampled(std::string name, std::string help, SampledType type,
                                  std::function<double()> read) {
  if (!read) return absl::InvalidArgumentError(absl::StrCat(name, " has nothing to read"));
  return Keep(std::make_unique<SampledFamily>(std::move(name), std::move(help),
                                              type == SampledType::kCounter ? "counter" : "gauge",
                                              std::move(read)));
}

absl::StatusOr<Family<Counter>*> Registry::AddCounter(std::string name, std::string help,
                                                      std::vector<std::string> label_names) {
  return Add<Counter>(std::move(name), std::move(help), std::move(label_names), {});
}

absl::StatusOr<Family<Gauge>*> Registry::AddGauge(std::string name, std::string help,
                                                  std::vector<std::string> label_names) {
  return Add<Gauge>(std::move(name), std::move(help), std::move(label_names), {});
}

absl::StatusOr<Family<Histogram>*> Registry::AddHistogram(std::string name, std::string help,
                                                          std::vector<std::string> label_names,
                                                          std::vector<double> upper_bounds) {
  return Add<Histogram>(std::move(name), std::move(help), std::move(label_names),
                        std::move(upper_bounds));
}

std::string Registry::Exposition() const {
  std::string out;
  absl::MutexLock lock(&mutex_);
  for (const auto& family : families_)
    family->Write(out);
  return out;
}

Registry& GivenOrOwn(Registry* given, std::unique_ptr<Registry>& owned) {
  if (given != nullptr) return *given;
  owned = std::make_unique<Registry>();
  return *owned;
}

}  // namespace dd::metrics
