#include "services/shared/proto_convert.h"

#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace dd {
namespace {

namespace v1 = deepdrummer::v1;

TEST(ProtoConvertTest, RatingsAreLikesOrDislikesAndNothingElse) {
  EXPECT_EQ(LikedFromProto(v1::RATING_LIKE, "rating").value(), true);
  EXPECT_EQ(LikedFromProto(v1::RATING_DISLIKE, "rating").value(), false);
  const absl::Status unset = LikedFromProto(v1::RATING_UNSPECIFIED, "rating").status();
  EXPECT_EQ(unset.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(unset.message(),
            "rating must be RATING_LIKE or RATING_DISLIKE, got RATING_UNSPECIFIED (or no rating)");
  const absl::Status undefined =
      LikedFromProto(static_cast<v1::Rating>(7), "examples[2].rating").status();
  EXPECT_EQ(undefined.message(), "examples[2].rating must be RATING_LIKE or RATING_DISLIKE, got 7");
}

TEST(ProtoConvertTest, CountsNarrowWithTheValueAsSent) {
  EXPECT_EQ(BoundedInt("count", 256, 256).value(), 256);
  EXPECT_EQ(BoundedInt("count", 257, 256).status().message(), "count must be at most 256, got 257");
  EXPECT_EQ(BoundedInt("n", 4294967295u, std::numeric_limits<int>::max()).status().message(),
            "n must be at most 2147483647, got 4294967295");
}

TEST(ProtoConvertTest, AudioFormatsMapAndUndefinedOnesAreRefused) {
  EXPECT_EQ(EncodingFromProto(v1::AUDIO_FORMAT_UNSPECIFIED, "format").value(),
            AudioEncoding::kWav16);
  EXPECT_EQ(EncodingFromProto(v1::AUDIO_FORMAT_FLAC, "format").value(), AudioEncoding::kFlac16);
  EXPECT_EQ(EncodingFromProto(v1::AUDIO_FORMAT_OGG, "format").value(), AudioEncoding::kOggVorbis);
  const absl::Status undefined =
      EncodingFromProto(static_cast<v1::AudioFormat>(9), "audio_format").status();
  EXPECT_EQ(undefined.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(undefined.message().rfind("audio_format 9 is not an AudioFormat", 0), 0u);
}

TEST(ProtoConvertTest, LoopDefaultsApplyAndVelocitiesAreShownExactly) {
  v1::DrumLoop loop;
  v1::Track* track = loop.add_tracks();
  track->set_sample_id("kick.wav");
  for (int k = 0; k < 16; ++k)
    track->add_hits(k % 4 == 0);
  const absl::StatusOr<Pattern> pattern = PatternFromProto(loop);
  ASSERT_TRUE(pattern.ok()) << pattern.status();
  EXPECT_EQ(pattern->steps(), 16);
  EXPECT_EQ(pattern->bpm(), 120.0);
  EXPECT_EQ(pattern->tracks()[0].velocities[4], 1.0f);
  EXPECT_EQ(pattern->tracks()[0].velocities[5], 0.0f);

  for (int k = 0; k < 16; ++k)
    track->add_velocities(0.5f);
  track->set_velocities(8, 1.0000001f);
  EXPECT_EQ(PatternFromProto(loop).status().message(),
            "tracks[0].velocities[8] must be in (0, 1] on a hit, got 1.0000001");
  track->set_velocities(8, 0.0f);  // A hit at velocity 0 is silence the caller did not mean.
  EXPECT_EQ(PatternFromProto(loop).status().code(), absl::StatusCode::kInvalidArgument);
  track->set_velocities(9, 7.0f);  // Not a hit: its velocity is not heard, so not checked.
  track->set_velocities(8, 1.0f);
  EXPECT_TRUE(PatternFromProto(loop).ok());
}

}  // namespace
}  // namespace dd
