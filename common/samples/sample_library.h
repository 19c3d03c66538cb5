// The library of one-shot drum samples: every audio file under a folder, decoded once to mono
// float at 44.1 kHz and kept in memory, along with the 16-bit copy the renderer reads (half the
// bytes to fetch per hit; mix_pcm.h). Immutable after loading; a reload builds a new library, so
// renders in flight keep the one they started with.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/samples/mix_pcm.h"

namespace dd {

struct Sample {
  std::string id;          // Path relative to the library root, '/'-separated, with extension.
  std::vector<float> pcm;  // Mono, 44.1 kHz.
  // The same frames as the renderer reads them (16-bit, see mix_pcm.h): half the bytes to read
  // per hit. Exact for mono 8- and 16-bit sources at 44.1 kHz; within -96 dB of the peak for the
  // others.
  MixPcm mix;
  int original_sample_rate = 0;
  int original_channels = 0;
  std::string format;          // e.g. "WAV PCM_24".
  int64_t trimmed_frames = 0;  // Near-silent frames dropped from the end (see the options).

  double duration_seconds() const;
};

struct RejectedFile {
  std::string path;  // Relative to the library root.
  std::string reason;
};

// Above this a "one-shot" is a recording, not a drum sample, and decoding it would take memory.
inline constexpr double kMaxSampleSecondsLimit = 600.0;

struct SampleLibraryOptions {
  // Files longer than this are rejected: one-shots are short, and a long file is almost always a
  // mistake that would bloat every render. In (0, kMaxSampleSecondsLimit].
  double max_sample_seconds = 10.0;
  // Trailing frames quieter than this (linear; 1e-5 is -100 dBFS, a third of a 16-bit step) are
  // dropped at load: many one-shots end in long near-silent tails that cost mixing time on every
  // render and cannot be heard. 0 keeps every frame.
  float trim_tail_below = 1e-5f;
};

class SampleLibrary {
 public:
  // Scans `root` recursively. Files with an audio extension (.wav .wave .aif .aiff .aifc .flac
  // .ogg .oga) are decoded; those that fail are listed in rejected() with the reason, as are
  // subfolders that cannot be read (their path ending in '/'). Other files and hidden entries
  // are ignored; links to files are followed, links to folders are not. Fails only if `root` is
  // not a readable directory.
  static absl::StatusOr<std::shared_ptr<const SampleLibrary>> Load(
      const std::filesystem::path& root, const SampleLibraryOptions& options = {});

  // nullptr when absent.
  const Sample* Find(std::string_view id) const;
  // Sorted by id.
  const std::vector<Sample>& samples() const { return samples_; }
  std::vector<std::string> ids() const;
  const std::vector<RejectedFile>& rejected() const { return rejected_; }
  const std::filesystem::path& root() const { return root_; }
  // Files skipped because their extension is not an audio one.
  int ignored_files() const { return ignored_files_; }

 private:
  SampleLibrary() = default;

  std::filesystem::path root_;
  std::vector<Sample> samples_;
  absl::flat_hash_map<std::string, size_t> index_;
  std::vector<RejectedFile> rejected_;
  int ignored_files_ = 0;
};

// True for the extensions the library decodes.
bool HasAudioExtension(const std::filesystem::path& path);

}  // namespace dd
