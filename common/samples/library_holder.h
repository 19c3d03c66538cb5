// Holds the current sample library and swaps in a new one on reload. Readers take a shared_ptr
// snapshot, so a render that started before a reload finishes on the library it started with.
#pragma once

#include <filesystem>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/samples/sample_library.h"

namespace dd {

class SampleLibraryHolder {
 public:
  // Loads the folder once; fails if it is not a directory or holds no usable sample.
  static absl::StatusOr<std::unique_ptr<SampleLibraryHolder>> Create(
      std::filesystem::path root, SampleLibraryOptions options = {});

  std::shared_ptr<const SampleLibrary> Get() const ABSL_LOCKS_EXCLUDED(mutex_);
  // Rescans the folder. On failure the previous library stays in place.
  absl::StatusOr<std::shared_ptr<const SampleLibrary>> Reload() ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  SampleLibraryHolder(std::filesystem::path root, SampleLibraryOptions options,
                      std::shared_ptr<const SampleLibrary> library)
      : root_(std::move(root)), options_(options), library_(std::move(library)) {}

  const std::filesystem::path root_;
  const SampleLibraryOptions options_;
  absl::Mutex reload_mutex_;  // One reload at a time; readers are not blocked by a scan.
  mutable absl::Mutex mutex_;
  std::shared_ptr<const SampleLibrary> library_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace dd
