#include "common/samples/sample_library.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/audio/audio_constants.h"
#include "common/audio/encode.h"
#include "common/samples/library_holder.h"
#include "tests/support/test_support.h"

namespace dd {
namespace {

std::string EncodedSine(int frames, AudioEncoding encoding, int rate = kSampleRate) {
  std::vector<float> audio(static_cast<size_t>(frames));
  for (int i = 0; i < frames; ++i)
    audio[i] = 0.5f * static_cast<float>(std::sin(0.05 * i));
  return *EncodeAudio(audio, rate, encoding);
}

TEST(SampleLibraryTest, LoadsEveryFileOfTheSharedCollection) {
  DD_REQUIRE_SHARED_SAMPLES();
  absl::StatusOr<std::shared_ptr<const SampleLibrary>> library =
      SampleLibrary::Load(testing::SharedDrumSamplesDir());
  ASSERT_TRUE(library.ok()) << library.status();
  for (const RejectedFile& rejected : (*library)->rejected()) {
    ADD_FAILURE() << rejected.path << ": " << rejected.reason;
  }
  EXPECT_EQ((*library)->samples().size(), 325u);
  EXPECT_EQ((*library)->ignored_files(), 1) << "the licence text file";

  // The collection mixes four encodings; every one must decode.
  std::set<std::pair<std::string, int>> kinds;
  for (const Sample& sample : (*library)->samples()) {
    kinds.insert({sample.format, sample.original_channels});
    ASSERT_FALSE(sample.pcm.empty()) << sample.id;
    ASSERT_EQ(sample.original_sample_rate, kSampleRate) << sample.id;
    for (float x : sample.pcm)
      ASSERT_TRUE(std::isfinite(x)) << sample.id;
    // What the renderer reads: the same frames at 16 bits, exactly so for mono 16-bit files.
    ASSERT_EQ(sample.mix.frames.size(), sample.pcm.size()) << sample.id;
    const bool exact = sample.format == "WAV PCM_16" && sample.original_channels == 1;
    const float tolerance = exact ? 0.0f : sample.mix.scale / 2.0f;
    for (size_t i = 0; i < sample.pcm.size(); ++i) {
      ASSERT_LE(
          std::fabs(static_cast<float>(sample.mix.frames[i]) * sample.mix.scale - sample.pcm[i]),
          tolerance)
          << sample.id << " frame " << i;
    }
  }
  const std::set<std::pair<std::string, int>> expected = {
      {"WAV PCM_16", 1}, {"WAV PCM_24", 1}, {"WAV PCM_24", 2}, {"WAV FLOAT", 2}};
  EXPECT_EQ(kinds, expected);
  std::set<std::string> folders;
  for (const Sample& sample : (*library)->samples()) {
    ASSERT_EQ((*library)->Find(sample.id), &sample);
    folders.insert(sample.id.substr(0, sample.id.find('/')));
  }
  EXPECT_EQ(folders, (std::set<std::string>{"808", "beatboxes", "dfam", "drumhits", "vermona"}));
}

TEST(SampleLibraryTest, RejectsBrokenFilesWithAReasonAndKeepsTheRest) {
  testing::TempDir dir;
  const std::string good = EncodedSine(4410, AudioEncoding::kWav16);
  testing::WriteFile(dir.path() / "good.wav", good);
  testing::WriteFile(dir.path() / "kit/nested/good.flac",
                     EncodedSine(4410, AudioEncoding::kFlac16));
  testing::WriteFile(dir.path() / "kit/good.ogg", EncodedSine(4410, AudioEncoding::kOggVorbis));
  testing::WriteFile(dir.path() / "empty.wav", "");
  testing::WriteFile(dir.path() / "not-audio.wav", "just some text pretending to be audio\n");
  testing::WriteFile(dir.path() / "truncated.wav", good.substr(0, good.size() / 2));
  testing::WriteFile(dir.path() / "README.txt", "ignored, not an audio extension");
  testing::WriteFile(dir.path() / ".hidden.wav", good);

  absl::StatusOr<std::shared_ptr<const SampleLibrary>> library = SampleLibrary::Load(dir.path());
  ASSERT_TRUE(library.ok()) << library.status();
  EXPECT_EQ((*library)->ids(),
            (std::vector<std::string>{"good.wav", "kit/good.ogg", "kit/nested/good.flac"}));
  std::map<std::string, std::string> rejected;
  for (const RejectedFile& file : (*library)->rejected())
    rejected[file.path] = file.reason;
  ASSERT_EQ(rejected.size(), 3u);
  EXPECT_NE(rejected["empty.wav"].find("empty"), std::string::npos) << rejected["empty.wav"];
  EXPECT_NE(rejected["not-audio.wav"].find("not a readable audio file"), std::string::npos);
  EXPECT_NE(rejected["truncated.wav"].find("truncated"), std::string::npos)
      << rejected["truncated.wav"];
  EXPECT_EQ((*library)->ignored_files(), 1);
  EXPECT_EQ((*library)->Find("kit/nested/good.flac")->format, "FLAC PCM_16");
  EXPECT_EQ((*library)->Find("missing.wav"), nullptr);
}

// Root may read any folder, so a child process run as root first becomes "nobody".
bool BecomeUnprivileged() {
  return geteuid() != 0 || (setgid(65534) == 0 && setuid(65534) == 0);
}

// Whether a child can (not in a user namespace that maps no "nobody", say).
bool CanBecomeUnprivileged() {
  const pid_t child = fork();
  if (child == 0) _exit(BecomeUnprivileged() ? 0 : 1);
  int status = 0;
  return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

// Run in a child process.
void LoadAsAnUnprivilegedUser(const std::filesystem::path& root) {
  if (!BecomeUnprivileged()) std::exit(2);
  auto library = SampleLibrary::Load(root);
  if (!library.ok()) {
    std::fprintf(stderr, "load failed: %s\n", std::string(library.status().message()).c_str());
    std::exit(1);
  }
  std::string summary = absl::StrJoin((*library)->ids(), ",");
  for (const RejectedFile& rejected : (*library)->rejected())
    absl::StrAppend(&summary, "; rejected ", rejected.path, ": ", rejected.reason);
  std::fprintf(stderr, "loaded %s\n", summary.c_str());
  std::exit(0);
}

TEST(SampleLibraryTest, AnUnreadableSubfolderIsReportedAndTheRestLoads) {
  if (!CanBecomeUnprivileged()) GTEST_SKIP() << "cannot run a child as an unprivileged user";
  testing::TempDir dir;
  const std::string sine = EncodedSine(1000, AudioEncoding::kWav16);
  testing::WriteFile(dir.path() / "kit/a.wav", sine);
  testing::WriteFile(dir.path() / "locked/b.wav", sine);
  testing::WriteFile(dir.path() / "z.wav", sine);
  // Links: to a file (followed) and to the root (not followed: it would make a cycle).
  std::filesystem::create_symlink(dir.path() / "z.wav", dir.path() / "kit/linked.wav");
  std::filesystem::create_directory_symlink(dir.path(), dir.path() / "kit/loop");
  const auto readable = std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                        std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                        std::filesystem::perms::others_exec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path()))
    std::filesystem::permissions(entry.path(), readable);
  std::filesystem::permissions(dir.path(), readable);
  std::filesystem::permissions(dir.path() / "locked", std::filesystem::perms::none);
  // A mounted volume's lost+found, readable by root only, is no sample folder: not reported.
  std::filesystem::create_directory(dir.path() / "lost+found");
  std::filesystem::permissions(dir.path() / "lost+found", std::filesystem::perms::owner_all);
  EXPECT_EXIT(LoadAsAnUnprivilegedUser(dir.path()), ::testing::ExitedWithCode(0),
              "loaded kit/a.wav,kit/linked.wav,z.wav; rejected locked/: cannot read the folder: "
              "Permission denied\n");
  std::filesystem::permissions(dir.path() / "locked", std::filesystem::perms::owner_all);
}

TEST(SampleLibraryTest, ResamplesOtherRatesTo44100) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() / "hi-rate.wav", EncodedSine(9600, AudioEncoding::kWav16, 96000));
  testing::WriteFile(dir.path() / "lo-rate.flac", EncodedSine(2205, AudioEncoding::kFlac16, 22050));
  absl::StatusOr<std::shared_ptr<const SampleLibrary>> library = SampleLibrary::Load(dir.path());
  ASSERT_TRUE(library.ok());
  const Sample* hi = (*library)->Find("hi-rate.wav");
  const Sample* lo = (*library)->Find("lo-rate.flac");
  ASSERT_NE(hi, nullptr);
  ASSERT_NE(lo, nullptr);
  EXPECT_EQ(hi->original_sample_rate, 96000);
  EXPECT_NEAR(static_cast<double>(hi->pcm.size()), 4410.0, 2.0);
  EXPECT_NEAR(lo->duration_seconds(), 0.1, 0.001);
}

TEST(SampleLibraryTest, RejectsOverlongFiles) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() / "long.wav", EncodedSine(3 * kSampleRate, AudioEncoding::kWav16));
  SampleLibraryOptions options;
  options.max_sample_seconds = 2.0;
  absl::StatusOr<std::shared_ptr<const SampleLibrary>> library =
      SampleLibrary::Load(dir.path(), options);
  ASSERT_TRUE(library.ok());
  EXPECT_TRUE((*library)->samples().empty());
  ASSERT_EQ((*library)->rejected().size(), 1u);
  EXPECT_NE((*library)->rejected()[0].reason.find("too long"), std::string::npos);
}

TEST(SampleLibraryTest, TrimsOnlyTheInaudibleTail) {
  testing::TempDir dir;
  testing::WriteFloatWav(dir.path() / "tail.wav", {0.5f, 0.0f, 0.2f, 1e-6f, 0.0f, -2e-6f}, 1,
                         kSampleRate);
  auto trimmed = SampleLibrary::Load(dir.path());
  ASSERT_TRUE(trimmed.ok());
  const Sample* sample = (*trimmed)->Find("tail.wav");
  ASSERT_NE(sample, nullptr);
  EXPECT_EQ(sample->pcm, (std::vector<float>{0.5f, 0.0f, 0.2f})) << "silence inside is kept";
  EXPECT_EQ(sample->trimmed_frames, 3);
  SampleLibraryOptions keep_all;
  keep_all.trim_tail_below = 0.0f;
  auto untouched = SampleLibrary::Load(dir.path(), keep_all);
  ASSERT_TRUE(untouched.ok());
  EXPECT_EQ((*untouched)->Find("tail.wav")->pcm.size(), 6u);
}

// A limit no file can meet would reject every sample with a puzzling reason ("the limit is
// -352800 frames") and then fail for an empty library; the option itself is named instead.
TEST(SampleLibraryTest, OptionsOutOfRangeAreInvalidArguments) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() / "a.wav", EncodedSine(1000, AudioEncoding::kWav16));
  for (const double seconds : {-1.0, 0.0, std::nan(""), 1e9}) {
    SampleLibraryOptions options;
    options.max_sample_seconds = seconds;
    absl::Status status = SampleLibrary::Load(dir.path(), options).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << seconds;
    EXPECT_NE(status.message().find("max_sample_seconds"), std::string::npos) << status;
  }
  SampleLibraryOptions negative_trim;
  negative_trim.trim_tail_below = -1.0f;
  EXPECT_EQ(SampleLibrary::Load(dir.path(), negative_trim).status().code(),
            absl::StatusCode::kInvalidArgument);
  SampleLibraryOptions longest;
  longest.max_sample_seconds = kMaxSampleSecondsLimit;
  EXPECT_TRUE(SampleLibrary::Load(dir.path(), longest).ok());
}

TEST(SampleLibraryTest, MissingFolderIsNotFound) {
  EXPECT_EQ(SampleLibrary::Load("/nonexistent/dd-samples").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(SampleLibraryHolderTest, ReloadPicksUpACopiedFileAndKeepsOldSnapshots) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() / "a.wav", EncodedSine(1000, AudioEncoding::kWav16));
  auto holder = SampleLibraryHolder::Create(dir.path());
  ASSERT_TRUE(holder.ok()) << holder.status();
  const std::shared_ptr<const SampleLibrary> before = (*holder)->Get();
  EXPECT_EQ(before->samples().size(), 1u);

  testing::WriteFile(dir.path() / "b.wav", EncodedSine(1000, AudioEncoding::kWav16));
  auto reloaded = (*holder)->Reload();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ((*holder)->Get()->samples().size(), 2u);
  EXPECT_EQ(before->samples().size(), 1u) << "a snapshot taken before the reload is unchanged";
}

TEST(SampleLibraryHolderTest, RefusesAFolderWithoutUsableAudio) {
  testing::TempDir dir;
  testing::WriteFile(dir.path() / "broken.wav", "nope");
  EXPECT_EQ(SampleLibraryHolder::Create(dir.path()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace dd
