#include "common/pattern/pattern.h"

#include <gtest/gtest.h>

namespace dd {
namespace {

Pattern FourTrackPattern() {
  auto pattern =
      Pattern::Create(16, 120.0, {"kick/a.wav", "snare/b.wav", "hat/c.wav", "perc/d.wav"});
  EXPECT_TRUE(pattern.ok()) << pattern.status();
  return *pattern;
}

TEST(PatternTest, CreateValidatesRanges) {
  EXPECT_TRUE(Pattern::Create(16, 120, {"a"}).ok());
  EXPECT_TRUE(Pattern::Create(2, 40, {"a"}).ok());
  EXPECT_TRUE(Pattern::Create(64, 300, std::vector<std::string>(16, "a")).ok());
  EXPECT_EQ(Pattern::Create(1, 120, {"a"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Pattern::Create(65, 120, {"a"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Pattern::Create(16, 39.9, {"a"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Pattern::Create(16, 300.1, {"a"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Pattern::Create(16, 0.0 / 0.0, {"a"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Pattern::Create(16, 120, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Pattern::Create(16, 120, std::vector<std::string>(17, "a")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Pattern::Create(16, 120, {""}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PatternTest, RangeErrorsShowTheValueExactly) {
  // Six significant digits would print "got 300" for a value just past the limit of 300.
  EXPECT_EQ(Pattern::Create(16, 300.0001, {"a"}).status().message(),
            "bpm must be in [40, 300], got 300.0001");
  EXPECT_EQ(
      Pattern::FromTracks(4, 120, {Track{"a", {0.0f, 1.0000001f, 0.0f, 0.0f}}}).status().message(),
      "track 0 step 1: velocity must be in [0, 1], got 1.0000001");
}

TEST(PatternTest, FromTracksRejectsWrongLengthsAndVelocities) {
  EXPECT_EQ(
      Pattern::FromTracks(16, 120, {Track{"a", std::vector<float>(15, 0.0f)}}).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Pattern::FromTracks(4, 120, {Track{"a", {0.0f, 1.5f, 0.0f, 0.0f}}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Pattern::FromTracks(4, 120, {Track{"a", {0.0f, -0.5f, 0.0f, 0.0f}}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Pattern::FromTracks(4, 120, {Track{"a", {0.0f, 0.5f, 1.0f, 0.0f}}}).ok());
}

TEST(PatternTest, TextFormRoundTripsAndIsReadable) {
  Pattern pattern = FourTrackPattern();
  for (int k = 0; k < 16; k += 4)
    pattern.set_hit(0, k, true);
  pattern.set_hit(1, 4, true);
  pattern.set_hit(1, 12, true);
  pattern.set_velocity(2, 2, 0.3f);
  const std::string text = pattern.ToText();
  EXPECT_EQ(text,
            "bpm=120 steps=16\n"
            "kick/a.wav   x...x...x...x...\n"
            "snare/b.wav  ....x.......x...\n"
            "hat/c.wav    ..3.............\n"
            "perc/d.wav   ................\n");
  absl::StatusOr<Pattern> parsed = Pattern::FromText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, pattern);
}

TEST(PatternTest, FromTextReportsBadInput) {
  EXPECT_FALSE(Pattern::FromText("").ok());
  EXPECT_FALSE(Pattern::FromText("bpm=120 steps=4\na x.?x\n").ok());
  EXPECT_FALSE(Pattern::FromText("tempo=120\na x...\n").ok());
  EXPECT_FALSE(Pattern::FromText("bpm=120 steps=4\na x...x\n").ok());
}

TEST(PatternTest, FingerprintFollowsContent) {
  Pattern a = FourTrackPattern();
  Pattern b = FourTrackPattern();
  EXPECT_EQ(a.Fingerprint(), b.Fingerprint());
  EXPECT_EQ(a.Fingerprint().size(), 16u);
  b.set_hit(3, 15, true);
  EXPECT_NE(a.Fingerprint(), b.Fingerprint());
  Pattern c = FourTrackPattern();
  c.set_sample(0, "kick/z.wav");
  EXPECT_NE(a.Fingerprint(), c.Fingerprint());
  Pattern d = FourTrackPattern();
  d.set_velocity(0, 0, -0.0f);
  EXPECT_EQ(a.Fingerprint(), d.Fingerprint()) << "-0.0 and 0.0 are the same silence";
}

TEST(PatternTest, RecognisesFingerprints) {
  EXPECT_TRUE(Pattern::IsFingerprint(FourTrackPattern().Fingerprint()));
  EXPECT_TRUE(Pattern::IsFingerprint("0123456789abcdef"));
  EXPECT_FALSE(Pattern::IsFingerprint("0123456789ABCDEF"));
  EXPECT_FALSE(Pattern::IsFingerprint("0123456789abcde"));
  EXPECT_FALSE(Pattern::IsFingerprint("0123456789abcdefa"));
  EXPECT_FALSE(Pattern::IsFingerprint("5d79c0de-0000-4000-8000-000000000000"));
  EXPECT_FALSE(Pattern::IsFingerprint(""));
}

TEST(PatternTest, CountsHits) {
  Pattern pattern = FourTrackPattern();
  EXPECT_EQ(pattern.CountHits(), 0);
  pattern.set_hit(0, 0, true);
  pattern.set_velocity(2, 5, 0.2f);
  EXPECT_EQ(pattern.CountHits(), 2);
}

}  // namespace
}  // namespace dd
