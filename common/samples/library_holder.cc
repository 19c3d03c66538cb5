#include "common/samples/library_holder.h"

#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace dd {
namespace {

absl::StatusOr<std::shared_ptr<const SampleLibrary>> LoadNonEmpty(
    const std::filesystem::path& root, const SampleLibraryOptions& options) {
  absl::StatusOr<std::shared_ptr<const SampleLibrary>> library = SampleLibrary::Load(root, options);
  if (!library.ok()) return library.status();
  for (const RejectedFile& rejected : (*library)->rejected()) {
    log::Warning("samples.rejected", {{"path", rejected.path}, {"reason", rejected.reason}});
  }
  if ((*library)->samples().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("sample folder '", root.string(), "' holds no usable audio file"));
  }
  log::Info("samples.loaded", {{"folder", root.string()},
                               {"samples", (*library)->samples().size()},
                               {"rejected", (*library)->rejected().size()}});
  return library;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SampleLibraryHolder>> SampleLibraryHolder::Create(
    std::filesystem::path root, SampleLibraryOptions options) {
  absl::StatusOr<std::shared_ptr<const SampleLibrary>> library = LoadNonEmpty(root, options);
  if (!library.ok()) return library.status();
  return std::unique_ptr<SampleLibraryHolder>(
      new SampleLibraryHolder(std::move(root), options, *std::move(library)));
}

std::shared_ptr<const SampleLibrary> SampleLibraryHolder::Get() const {
  absl::MutexLock lock(&mutex_);
  return library_;
}

absl::StatusOr<std::shared_ptr<const SampleLibrary>> SampleLibraryHolder::Reload() {
  absl::MutexLock reload_lock(&reload_mutex_);
  absl::StatusOr<std::shared_ptr<const SampleLibrary>> library = LoadNonEmpty(root_, options_);
  if (!library.ok()) return library.status();
  absl::MutexLock lock(&mutex_);
  library_ = *library;
  return library;
}

}  // namespace dd
