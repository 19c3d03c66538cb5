#include "common/samples/sample_library.h"

#include <algorithm>
#include <cmath>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/audio/audio_constants.h"
#include "common/audio/decode.h"
#include "common/audio/resample.h"
#include "common/text/exact_number.h"

namespace dd {
namespace {

bool IsHidden(const std::filesystem::path& relative) {
  for (const auto& part : relative) {
    const std::string name = part.string();
    if (!name.empty() && name[0] == '.') return true;
  }
  return false;
}

struct FolderScan {
  std::vector<std::filesystem::path> files;
  std::vector<RejectedFile> unreadable_folders;
};

// Every regular file below `root`, through links to files but not to folders (a link to a folder
// could make a cycle), skipping hidden folders, whose files are ignored anyway, and lost+found.
// A subfolder that cannot be read is reported, not silently left out: a sample volume mounted
// with a subfolder the service may not read would otherwise just lose its samples. Fails if
// `root` cannot be read.
absl::StatusOr<FolderScan> ScanFolder(const std::filesystem::path& root) {
  FolderScan scan;
  std::vector<std::filesystem::path> pending = {root};
  while (!pending.empty()) {
    const std::filesystem::path folder = std::move(pending.back());
    pending.pop_back();
    std::error_code error;
    for (std::filesystem::directory_iterator it(folder, error), end; !error && it != end;
         it.increment(error)) {
      std::error_code gone;  // An entry removed meanwhile is neither a file nor a folder.
      const std::string name = it->path().filename().string();
      if (it->is_directory(gone)) {
        // lost+found: what fsck left at a volume's root, unreadable but to root, never samples.
        if (!it->is_symlink(gone) && name[0] != '.' && name != "lost+found") {
          pending.push_back(it->path());
        }
      } else if (it->is_regular_file(gone)) {
        scan.files.push_back(it->path());
      }
    }
    if (!error) continue;
    if (folder == root) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot read sample folder '", root.string(), "': ", error.message()));
    }
    scan.unreadable_folders.push_back({folder.lexically_relative(root).generic_string() + "/",
                                       "cannot read the folder: " + error.message()});
  }
  return scan;
}

}  // namespace

double Sample::duration_seconds() const {
  return static_cast<double>(pcm.size()) / kSampleRate;
}

bool HasAudioExtension(const std::filesystem::path& path) {
  const std::string ext = absl::AsciiStrToLower(path.extension().string());
  return ext == ".wav" || ext == ".wave" || ext == ".aif" || ext == ".aiff" || ext == ".aifc" ||
         ext == ".flac" || ext == ".ogg" || ext == ".oga";
}

absl::StatusOr<std::shared_ptr<const SampleLibrary>> SampleLibrary::Load(
    const std::filesystem::path& root, const SampleLibraryOptions& options) {
  // A limit that admits no file would reject every sample with a puzzling reason.
  if (!(options.max_sample_seconds > 0.0 && options.max_sample_seconds <= kMaxSampleSecondsLimit)) {
    return absl::InvalidArgumentError(absl::StrCat("max_sample_seconds must be in (0, ",
                                                   kMaxSampleSecondsLimit, "], got ",
                                                   ExactNumber(options.max_sample_seconds)));
  }
  if (!(options.trim_tail_below >= 0.0f && options.trim_tail_below < 1.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("trim_tail_below must be in [0, 1), got ",
                                                   ExactNumber(options.trim_tail_below)));
  }
  std::error_code error;
  if (!std::filesystem::is_directory(root, error)) {
    return absl::NotFoundError(
        absl::StrCat("sample folder '", root.string(), "' is not a directory"));
  }
  std::shared_ptr<SampleLibrary> library(new SampleLibrary());
  library->root_ = root;
  absl::StatusOr<FolderScan> scan = ScanFolder(root);
  if (!scan.ok()) return scan.status();
  library->rejected_ = std::move(scan->unreadable_folders);
  std::vector<std::filesystem::path>& files = scan->files;
  std::sort(files.begin(), files.end());

  const auto max_frames = static_cast<int64_t>(options.max_sample_seconds * kSampleRate);
  for (const std::filesystem::path& file : files) {
    const std::filesystem::path relative = file.lexically_relative(root);
    if (IsHidden(relative)) continue;
    if (!HasAudioExtension(file)) {
      ++library->ignored_files_;
      continue;
    }
    const std::string id = relative.generic_string();
    absl::StatusOr<DecodedAudio> decoded = DecodeAudioFile(file, max_frames * 8);
    if (!decoded.ok()) {
      library->rejected_.push_back({id, std::string(decoded.status().message())});
      continue;
    }
    Sample sample;
    sample.id = id;
    sample.original_sample_rate = decoded->sample_rate;
    sample.original_channels = decoded->channels;
    sample.format = decoded->format;
    absl::StatusOr<std::vector<float>> pcm =
        Resample(decoded->mono, decoded->sample_rate, kSampleRate);
    if (!pcm.ok()) {
      library->rejected_.push_back({id, std::string(pcm.status().message())});
      continue;
    }
    if (static_cast<int64_t>(pcm->size()) > max_frames) {
      library->rejected_.push_back(
          {id, absl::StrCat("too long: ", static_cast<double>(pcm->size()) / kSampleRate,
                            " s, the limit is ", options.max_sample_seconds, " s")});
      continue;
    }
    sample.pcm = *std::move(pcm);
    size_t audible = sample.pcm.size();
    while (audible > 1 && std::fabs(sample.pcm[audible - 1]) < options.trim_tail_below)
      --audible;
    sample.trimmed_frames = static_cast<int64_t>(sample.pcm.size() - audible);
    sample.pcm.resize(audible);
    sample.mix = ToMixPcm(sample.pcm);
    library->samples_.push_back(std::move(sample));
  }
  for (size_t i = 0; i < library->samples_.size(); ++i) {
    library->index_.emplace(library->samples_[i].id, i);
  }
  return std::shared_ptr<const SampleLibrary>(std::move(library));
}

const Sample* SampleLibrary::Find(std::string_view id) const {
  auto it = index_.find(absl::string_view(id.data(), id.size()));
  return it == index_.end() ? nullptr : &samples_[it->second];
}

std::vector<std::string> SampleLibrary::ids() const {
  std::vector<std::string> result;
  result.reserve(samples_.size());
  for (const Sample& sample : samples_)
    result.push_back(sample.id);
  return result;
}

}  // namespace dd
