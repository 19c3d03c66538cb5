// The symbolic drum loop: a grid of steps x tracks, each track a one-shot sample with a velocity
// per step (0 = no hit), played at a tempo. Random generation and the paper's mutation live in
// generation.h; this file is the value type and its validation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace dd {

// Validated ranges and defaults, shared by every entry point that builds a pattern.
struct PatternLimits {
  static constexpr int kDefaultSteps = 16;
  static constexpr int kDefaultTracks = 4;
  static constexpr double kDefaultBpm = 120.0;
  static constexpr int kMinSteps = 2;
  static constexpr int kMaxSteps = 64;
  static constexpr int kMinTracks = 1;
  static constexpr int kMaxTracks = 16;
  static constexpr double kMinBpm = 40.0;
  static constexpr double kMaxBpm = 300.0;
};

struct Track {
  std::string sample_id;
  // One entry per step: 0 means silent, (0, 1] is the hit's linear gain.
  std::vector<float> velocities;

  bool hit(int step) const { return velocities[static_cast<size_t>(step)] > 0.0f; }
  friend bool operator==(const Track&, const Track&) = default;
};

class Pattern {
 public:
  // An empty grid (no hits) with the given shape and samples; checks ranges and that every track
  // has a sample id.
  static absl::StatusOr<Pattern> Create(int steps, double bpm, std::vector<std::string> sample_ids);
  // Checks a pattern assembled field by field (e.g. from a request).
  static absl::StatusOr<Pattern> FromTracks(int steps, double bpm, std::vector<Track> tracks);

  int steps() const { return steps_; }
  int num_tracks() const { return static_cast<int>(tracks_.size()); }
  double bpm() const { return bpm_; }
  const std::vector<Track>& tracks() const { return tracks_; }
  const Track& track(int index) const { return tracks_[static_cast<size_t>(index)]; }

  bool hit(int track, int step) const { return tracks_[track].hit(step); }
  float velocity(int track, int step) const {
    return tracks_[static_cast<size_t>(track)].velocities[static_cast<size_t>(step)];
  }
  void set_velocity(int track, int step, float velocity) {
    tracks_[static_cast<size_t>(track)].velocities[static_cast<size_t>(step)] = velocity;
  }
  void set_hit(int track, int step, bool on) { set_velocity(track, step, on ? 1.0f : 0.0f); }
  void set_sample(int track, std::string sample_id) {
    tracks_[static_cast<size_t>(track)].sample_id = std::move(sample_id);
  }
  int CountHits() const;

  // Readable, canonical text form, one line per track:
  //   bpm=120 steps=16
  //   808/kick.wav       x...x...x...x...
  // '.' is silence, 'x' a full-velocity hit, '1'..'9' a hit at velocity 0.1..0.9 (rounded).
  std::string ToText() const;
  // Parses ToText()'s output (sample ids must not contain whitespace).
  static absl::StatusOr<Pattern> FromText(std::string_view text);

  // 64-bit FNV-1a hash of the exact content (ids, velocities, bpm), as 16 hex digits. Two
  // patterns have the same fingerprint when they sound the same.
  std::string Fingerprint() const;
  // Whether `text` has Fingerprint()'s form: 16 lowercase hex digits.
  static bool IsFingerprint(std::string_view text);

  friend bool operator==(const Pattern&, const Pattern&) = default;

 private:
  Pattern(int steps, double bpm, std::vector<Track> tracks)
      : steps_(steps), bpm_(bpm), tracks_(std::move(tracks)) {}

  int steps_ = PatternLimits::kDefaultSteps;
  double bpm_ = PatternLimits::kDefaultBpm;
  std::vector<Track> tracks_;
};

// Range checks shared with the proto conversion, so every error message reads the same.
absl::Status ValidateSteps(int steps);
absl::Status ValidateTrackCount(int tracks);
absl::Status ValidateBpm(double bpm);

}  // namespace dd
