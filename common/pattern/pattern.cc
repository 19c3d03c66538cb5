#include "common/pattern/pattern.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/text/exact_number.h"
#include "common/text/quoted.h"

namespace dd {

absl::Status ValidateSteps(int steps) {
  if (steps < PatternLimits::kMinSteps || steps > PatternLimits::kMaxSteps) {
    return absl::InvalidArgumentError(absl::StrFormat("steps must be in [%d, %d], got %d",
                                                      PatternLimits::kMinSteps,
                                                      PatternLimits::kMaxSteps, steps));
  }
  return absl::OkStatus();
}

absl::Status ValidateTrackCount(int tracks) {
  if (tracks < PatternLimits::kMinTracks || tracks > PatternLimits::kMaxTracks) {
    return absl::InvalidArgumentError(absl::StrFormat("track count must be in [%d, %d], got %d",
                                                      PatternLimits::kMinTracks,
                                                      PatternLimits::kMaxTracks, tracks));
  }
  return absl::OkStatus();
}

absl::Status ValidateBpm(double bpm) {
  if (!std::isfinite(bpm) || bpm < PatternLimits::kMinBpm || bpm > PatternLimits::kMaxBpm) {
    return absl::InvalidArgumentError(absl::StrFormat("bpm must be in [%g, %g], got %s",
                                                      PatternLimits::kMinBpm,
                                                      PatternLimits::kMaxBpm, ExactNumber(bpm)));
  }
  return absl::OkStatus();
}

absl::StatusOr<Pattern> Pattern::Create(int steps, double bpm,
                                        std::vector<std::string> sample_ids) {
  std::vector<Track> tracks;
  tracks.reserve(sample_ids.size());
  for (std::string& id : sample_ids) {
    tracks.push_back(
        Track{std::move(id), std::vector<float>(static_cast<size_t>(std::max(steps, 0)), 0.0f)});
  }
  return FromTracks(steps, bpm, std::move(tracks));
}

absl::StatusOr<Pattern> Pattern::FromTracks(int steps, double bpm, std::vector<Track> tracks) {
  if (absl::Status s = ValidateSteps(steps); !s.ok()) return s;
  if (absl::Status s = ValidateBpm(bpm); !s.ok()) return s;
  if (absl::Status s = ValidateTrackCount(static_cast<int>(tracks.size())); !s.ok()) return s;
  for (size_t t = 0; t < tracks.size(); ++t) {
    const Track& track = tracks[t];
    if (track.sample_id.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("track ", t, " has no sample id"));
    }
    if (track.velocities.size() != static_cast<size_t>(steps)) {
      return absl::InvalidArgumentError(absl::StrCat("track ", t, " has ", track.velocities.size(),
                                                     " steps, the loop has ", steps));
    }
    for (size_t k = 0; k < track.velocities.size(); ++k) {
      const float v = track.velocities[k];
      if (!std::isfinite(v) || v < 0.0f || v > 1.0f) {
        return absl::InvalidArgumentError(absl::StrCat(
            "track ", t, " step ", k, ": velocity must be in [0, 1], got ", ExactNumber(v)));
      }
    }
  }
  return Pattern(steps, bpm, std::move(tracks));
}

int Pattern::CountHits() const {
  int hits = 0;
  for (const Track& track : tracks_) {
    for (float v : track.velocities)
      hits += v > 0.0f ? 1 : 0;
  }
  return hits;
}

std::string Pattern::ToText() const {
  size_t width = 0;
  for (const Track& track : tracks_)
    width = std::max(width, track.sample_id.size());
  std::string text = absl::StrFormat("bpm=%g steps=%d\n", bpm_, steps_);
  for (const Track& track : tracks_) {
    text += track.sample_id;
    text.append(width - track.sample_id.size() + 2, ' ');
    for (float v : track.velocities) {
      if (v <= 0.0f) {
        text.push_back('.');
      } else if (v >= 0.95f) {
        text.push_back('x');
      } else {
        const int tenth = std::clamp(static_cast<int>(std::lround(v * 10.0f)), 1, 9);
        text.push_back(static_cast<char>('0' + tenth));
      }
    }
    text.push_back('\n');
  }
  return text;
}

absl::StatusOr<Pattern> Pattern::FromText(std::string_view text_in) {
  const absl::string_view text(text_in.data(), text_in.size());
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n', absl::SkipWhitespace());
  if (lines.empty()) return absl::InvalidArgumentError("pattern text is empty");
  double bpm = 0;
  int steps = 0;
  for (absl::string_view field : absl::StrSplit(lines[0], ' ', absl::SkipWhitespace())) {
    if (absl::ConsumePrefix(&field, "bpm=")) {
      if (!absl::SimpleAtod(field, &bpm)) return absl::InvalidArgumentError("bad bpm in header");
    } else if (absl::ConsumePrefix(&field, "steps=")) {
      if (!absl::SimpleAtoi(field, &steps))
        return absl::InvalidArgumentError("bad steps in header");
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown header field ", Quoted(field)));
    }
  }
  std::vector<Track> tracks;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<absl::string_view> parts = absl::StrSplit(lines[i], ' ', absl::SkipWhitespace());
    if (parts.size() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", i + 1, ": expected '<sample id> <steps>'"));
    }
    Track track{std::string(parts[0]), {}};
    for (char c : parts[1]) {
      if (c == '.') {
        track.velocities.push_back(0.0f);
      } else if (c == 'x') {
        track.velocities.push_back(1.0f);
      } else if (c >= '1' && c <= '9') {
        track.velocities.push_back(static_cast<float>(c - '0') / 10.0f);
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", i + 1, ": bad step character ", Quoted(std::string_view(&c, 1))));
      }
    }
    tracks.push_back(std::move(track));
  }
  return FromTracks(steps, bpm, std::move(tracks));
}

std::string Pattern::Fingerprint() const {
  uint64_t hash = 0xcbf29ce484222325ULL;
  auto mix = [&hash](const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) {
      hash ^= bytes[i];
      hash *= 0x100000001b3ULL;
    }
  };
  mix(&steps_, sizeof(steps_));
  mix(&bpm_, sizeof(bpm_));
  for (const Track& track : tracks_) {
    mix(track.sample_id.data(), track.sample_id.size());
    mix("\0", 1);
    // Quantised so that -0.0 and 0.0 (or float noise below audibility) hash alike.
    for (float v : track.velocities) {
      const auto level = static_cast<uint16_t>(std::lround(std::clamp(v, 0.0f, 1.0f) * 65535.0f));
      mix(&level, sizeof(level));
    }
  }
  return absl::StrFormat("%016x", hash);
}

bool Pattern::IsFingerprint(std::string_view text) {
  return text.size() == 16 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace dd
