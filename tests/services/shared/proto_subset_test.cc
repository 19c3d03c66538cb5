// FirstFieldDiffering on the API's SessionOptions, as StartSession uses it for retries.
#include "services/shared/proto_subset.h"

#include <gtest/gtest.h>

#include "deepdrummer/v1/session.pb.h"

namespace dd {
namespace {
namespace v1 = deepdrummer::v1;

// What StartSession stores: every option filled in.
v1::SessionOptions Stored() {
  v1::SessionOptions stored;
  stored.set_phase1_loops(80);
  stored.set_phase2_loops_per_critic(30);
  stored.set_seed(5);
  stored.mutable_priors()->set_bpm(120);
  stored.mutable_priors()->add_sample_ids("kick/a.wav");
  stored.mutable_priors()->add_sample_ids("snare/b.wav");
  stored.mutable_sampler()->set_threshold(0.95);
  stored.set_audio_format(v1::AUDIO_FORMAT_WAV);
  return stored;
}

TEST(FirstFieldDifferingTest, FieldsTheRequestLeavesUnsetAreNotCompared) {
  EXPECT_EQ(FirstFieldDiffering(v1::SessionOptions(), Stored()), std::nullopt);
  v1::SessionOptions same;
  same.set_phase1_loops(80);
  same.mutable_priors()->set_bpm(120);
  same.mutable_sampler();  // An empty message sets nothing either.
  EXPECT_EQ(FirstFieldDiffering(same, Stored()), std::nullopt);
}

TEST(FirstFieldDifferingTest, NamesTheFirstFieldSetToSomethingElse) {
  v1::SessionOptions fewer;
  fewer.set_phase1_loops(10);
  EXPECT_EQ(FirstFieldDiffering(fewer, Stored()), "phase1_loops");
  v1::SessionOptions slower;
  slower.mutable_priors()->set_bpm(90);
  EXPECT_EQ(FirstFieldDiffering(slower, Stored()), "priors.bpm");
  v1::SessionOptions flac;
  flac.set_audio_format(v1::AUDIO_FORMAT_FLAC);
  EXPECT_EQ(FirstFieldDiffering(flac, Stored()), "audio_format");
  // An explicit 0 of a field with presence is a value, not "unset".
  v1::SessionOptions zero_seed;
  zero_seed.set_seed(0);
  EXPECT_EQ(FirstFieldDiffering(zero_seed, Stored()), "seed");
  v1::SessionOptions no_phase2;
  no_phase2.set_phase2_loops_per_critic(0);
  EXPECT_EQ(FirstFieldDiffering(no_phase2, Stored()), "phase2_loops_per_critic");
}

TEST(FirstFieldDifferingTest, RepeatedFieldsAreComparedWholeAndInOrder) {
  v1::SessionOptions same;
  same.mutable_priors()->add_sample_ids("kick/a.wav");
  same.mutable_priors()->add_sample_ids("snare/b.wav");
  EXPECT_EQ(FirstFieldDiffering(same, Stored()), std::nullopt);
  v1::SessionOptions fewer;
  fewer.mutable_priors()->add_sample_ids("kick/a.wav");
  EXPECT_EQ(FirstFieldDiffering(fewer, Stored()), "priors.sample_ids");
  v1::SessionOptions swapped;
  swapped.mutable_priors()->add_sample_ids("snare/b.wav");
  swapped.mutable_priors()->add_sample_ids("kick/a.wav");
  EXPECT_EQ(FirstFieldDiffering(swapped, Stored()), "priors.sample_ids");
}

}  // namespace
}  // namespace dd
