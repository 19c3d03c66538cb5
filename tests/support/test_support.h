// Helpers shared by the tests: temporary folders, the real sample collections, writing audio.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace dd::testing {

// A fresh folder under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// While alive, what the process writes to stderr (where the log goes) lands in a file.
class CapturedStderr {
 public:
  CapturedStderr();
  ~CapturedStderr();
  CapturedStderr(const CapturedStderr&) = delete;
  CapturedStderr& operator=(const CapturedStderr&) = delete;
  // Stops capturing and returns what was written.
  std::string Finish();

 private:
  void Restore();
  TempDir dir_;
  std::filesystem::path path_;
  int saved_ = -1;
};

// ../shared/drum-samples next to the repository (or $DD_SHARED_SAMPLES). Empty when absent.
std::filesystem::path SharedDrumSamplesDir();
// True when tests must not skip for missing shared data (in CI).
bool RequireSharedData();
// samples/default-kit of the repository.
std::filesystem::path DefaultKitDir();

// A loopback TCP port that was free a moment ago, for a child process's option that has no
// port-file counterpart (another process may take it in between: rare, and then the test fails).
int FreeLoopbackPort();

// The placement rule, step n starts at floor(n * 60 / bpm / 4 * 44100), computed in exact
// integers: the reference the renderer's timing is checked against. The tempo may have one
// decimal at most (bpm = tenths / 10); another fails the calling test.
int64_t ExactStepStart(int64_t n, double bpm);

// Writes a float WAV (libsndfile SF_FORMAT_FLOAT) so tests can place exact sample values.
void WriteFloatWav(const std::filesystem::path& path, const std::vector<float>& interleaved,
                   int channels, int sample_rate);
void WriteFile(const std::filesystem::path& path, const std::string& bytes);
std::string ReadFile(const std::filesystem::path& path);

}  // namespace dd::testing

// Skips (or fails in CI) when ../shared/drum-samples is not there.
#define DD_REQUIRE_SHARED_SAMPLES()                                                       \
  do {                                                                                    \
    if (::dd::testing::SharedDrumSamplesDir().empty()) {                                  \
      if (::dd::testing::RequireSharedData()) FAIL() << "../shared/drum-samples missing"; \
      GTEST_SKIP() << "../shared/drum-samples not found";                                 \
    }                                                                                     \
  } while (0)
