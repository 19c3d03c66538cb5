// Decoding audio files through libsndfile (WAV, AIFF, FLAC, Ogg Vorbis... any bit depth), mixed
// to mono.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace dd {

struct DecodedAudio {
  std::vector<float> mono;  // Channels averaged, at `sample_rate`.
  int sample_rate = 0;
  int channels = 0;    // Of the file.
  std::string format;  // e.g. "WAV PCM_24".
};

// Reads a whole file. Errors say what was wrong: unreadable, not audio, empty, truncated, or
// larger than `max_frames` (a guard against decoding a multi-minute file by mistake).
absl::StatusOr<DecodedAudio> DecodeAudioFile(const std::filesystem::path& path, int64_t max_frames);

// Decodes an in-memory file (any format libsndfile reads), for tests and uploaded clips.
absl::StatusOr<DecodedAudio> DecodeAudioBytes(std::string_view bytes, int64_t max_frames);

}  // namespace dd
