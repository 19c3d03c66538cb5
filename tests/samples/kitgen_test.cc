// The committed default kit must be exactly what the generator writes, and usable as a library.
#include <gtest/gtest.h>

#include <set>

#include "common/audio/audio_constants.h"
#include "common/audio/encode.h"
#include "common/samples/sample_library.h"
#include "samples/kitgen/kit.h"
#include "tests/support/test_support.h"

namespace dd {
namespace {

TEST(DefaultKitTest, CommittedFilesAreWhatTheGeneratorWrites) {
  const std::vector<kitgen::KitSample> kit = kitgen::BuildDefaultKit();
  ASSERT_GE(kit.size(), 24u);
  for (const kitgen::KitSample& sample : kit) {
    const auto encoded = EncodeAudio(sample.audio, kSampleRate, AudioEncoding::kWav16);
    ASSERT_TRUE(encoded.ok());
    const std::filesystem::path path = testing::DefaultKitDir() / sample.relative_path;
    ASSERT_TRUE(std::filesystem::exists(path)) << path << ": run dd-kitgen samples/default-kit";
    EXPECT_TRUE(testing::ReadFile(path) == *encoded) << path << " differs from its recipe";
  }
}

TEST(DefaultKitTest, CoversTheDrumFamiliesAndLoadsCleanly) {
  SampleLibraryOptions untrimmed;  // The files themselves must end silent.
  untrimmed.trim_tail_below = 0.0f;
  auto library = SampleLibrary::Load(testing::DefaultKitDir(), untrimmed);
  ASSERT_TRUE(library.ok()) << library.status();
  EXPECT_TRUE((*library)->rejected().empty());
  EXPECT_EQ((*library)->samples().size(), kitgen::BuildDefaultKit().size());
  std::set<std::string> families;
  for (const Sample& sample : (*library)->samples()) {
    families.insert(sample.id.substr(0, sample.id.find('/')));
    float peak = 0.0f;
    for (float x : sample.pcm)
      peak = std::max(peak, std::fabs(x));
    EXPECT_GT(peak, 0.5f) << sample.id << " is too quiet";
    EXPECT_LE(peak, 0.95f) << sample.id << " leaves no headroom";
    EXPECT_LE(sample.duration_seconds(), 3.0) << sample.id;
    EXPECT_NEAR(sample.pcm.back(), 0.0f, 1e-3f) << sample.id << " must end silent (no click)";
  }
  EXPECT_EQ(families,
            (std::set<std::string>{"clap", "harsh", "hat", "kick", "perc", "snare", "tom"}));
}

}  // namespace
}  // namespace dd
