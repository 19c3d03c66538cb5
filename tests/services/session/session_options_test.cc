#include "services/session/session_options.h"

#include <gtest/gtest.h>

#include <string>

namespace dd {
namespace {

namespace v1 = deepdrummer::v1;

// The message of a refusal, or "" when the options were accepted.
std::string Refusal(v1::SessionOptions options, const SessionOptionLimits& limits = {}) {
  const absl::Status status = CompleteSessionOptions(options, limits, 7);
  EXPECT_TRUE(status.ok() || status.code() == absl::StatusCode::kInvalidArgument) << status;
  return std::string(status.message());
}

TEST(SessionOptionsTest, AnEmptyRequestGetsThePapersProtocolWrittenOut) {
  v1::SessionOptions options;
  ASSERT_TRUE(CompleteSessionOptions(options, {}, 1234).ok());
  EXPECT_EQ(options.phase1_loops(), 80u);
  EXPECT_EQ(options.phase2_loops_per_critic(), 30u);
  EXPECT_EQ(options.priors().steps(), 16u);
  EXPECT_EQ(options.priors().tracks(), 4u);
  EXPECT_EQ(options.priors().bpm(), 120.0);
  EXPECT_EQ(options.priors().hit_density(), 0.5);
  EXPECT_EQ(options.sampler().temperature(), 1.0);
  EXPECT_EQ(options.sampler().min_steps(), 100u);
  EXPECT_EQ(options.sampler().threshold(), 0.95);
  EXPECT_EQ(options.sampler().max_steps(), 500u);
  EXPECT_EQ(options.sampler().chains(), 8u);
  EXPECT_EQ(options.sampler().cell_flip_probability(), 0.05);
  EXPECT_EQ(options.sampler().sample_swap_probability(), 0.15);
  EXPECT_EQ(options.audio_format(), v1::AUDIO_FORMAT_WAV);
  EXPECT_EQ(options.phase1_critic_lag(), 0u);
  EXPECT_EQ(options.seed(), 1234u);
  // The critic's seed follows from the session's, and differs from it.
  ASSERT_TRUE(options.critic().has_seed());
  EXPECT_NE(options.critic().seed(), options.seed());
  v1::SessionOptions again;
  ASSERT_TRUE(CompleteSessionOptions(again, {}, 1234).ok());
  EXPECT_EQ(again.critic().seed(), options.critic().seed());
}

TEST(SessionOptionsTest, WhatTheCallerSetIsKept) {
  v1::SessionOptions options;
  options.set_phase1_loops(10);
  options.set_phase2_loops_per_critic(0);
  options.set_seed(99);
  options.mutable_critic()->set_seed(5);
  options.set_audio_format(v1::AUDIO_FORMAT_OGG);
  options.mutable_priors()->set_bpm(90);
  options.mutable_sampler()->set_threshold(0.99);
  SessionOptionLimits limits;
  limits.default_phase1_critic_lag = 1;
  ASSERT_TRUE(CompleteSessionOptions(options, limits, 1234).ok());
  EXPECT_EQ(options.phase1_loops(), 10u);
  EXPECT_EQ(options.phase2_loops_per_critic(), 0u);  // Set to 0 is not unset.
  EXPECT_EQ(options.seed(), 99u);
  EXPECT_EQ(options.critic().seed(), 5u);
  EXPECT_EQ(options.audio_format(), v1::AUDIO_FORMAT_OGG);
  EXPECT_EQ(options.priors().bpm(), 90.0);
  EXPECT_EQ(options.sampler().threshold(), 0.99);
  EXPECT_EQ(options.phase1_critic_lag(), 1u);  // The service's default for an unset lag.
}

// Options whose loops take longer to draw than the generator may take would stall the session at
// a NextLoop that never succeeds; an unset field counts at the default it runs with.
TEST(SessionOptionsTest, LoopsThatWouldTakeTooManyStepsAreRefused) {
  SessionOptionLimits limits;
  limits.max_sampling_steps = 1000;
  v1::SessionOptions options;
  options.mutable_sampler()->set_min_steps(500);
  EXPECT_EQ(Refusal(options, limits), "");  // 500 + the default 500.
  options.mutable_sampler()->set_min_steps(501);
  EXPECT_EQ(Refusal(options, limits),
            "options.sampler.min_steps + options.sampler.max_steps is 501 + 500 = 1001 steps, and "
            "this service draws a loop in at most 1000 (each step scores a loop with the critic, "
            "and a loop must be drawn before the generator call times out); lower min_steps or "
            "max_steps");
  options.mutable_sampler()->set_min_steps(0);
  options.mutable_sampler()->set_max_steps(1000);
  EXPECT_EQ(Refusal(options, limits), "");
  options.mutable_sampler()->set_max_steps(100000);
  options.mutable_sampler()->set_min_steps(100000);
  EXPECT_NE(Refusal(options, limits).find("is 100000 + 100000 = 200000 steps"), std::string::npos);
  // The default limit takes the paper's options and far more.
  EXPECT_EQ(Refusal(v1::SessionOptions()), "");
  options.mutable_sampler()->set_min_steps(5000);
  options.mutable_sampler()->set_max_steps(5000);
  EXPECT_EQ(Refusal(options), "");
}

TEST(SessionOptionsTest, EachFieldOutOfRangeIsNamed) {
  SessionOptionLimits limits;
  limits.max_phase1_loops = 100;
  limits.max_phase2_loops_per_critic = 10;
  v1::SessionOptions options;
  options.set_phase1_loops(0);
  EXPECT_NE(Refusal(options, limits).find("options.phase1_loops must be in [1, 100], got 0"),
            std::string::npos);
  options.set_phase1_loops(101);
  EXPECT_NE(Refusal(options, limits).find("phase1_loops"), std::string::npos);
  options.clear_phase1_loops();
  options.set_phase2_loops_per_critic(11);
  EXPECT_NE(Refusal(options, limits).find("options.phase2_loops_per_critic must be in [0, 10]"),
            std::string::npos);

  v1::SessionOptions priors;
  priors.mutable_priors()->set_steps(65);
  EXPECT_NE(Refusal(priors).find("options.priors.steps"), std::string::npos) << Refusal(priors);
  v1::SessionOptions sampler;
  sampler.mutable_sampler()->set_temperature(-1);
  EXPECT_NE(Refusal(sampler).find("options.sampler.temperature"), std::string::npos)
      << Refusal(sampler);
  v1::SessionOptions format;
  format.set_audio_format(static_cast<v1::AudioFormat>(9));
  EXPECT_NE(Refusal(format).find("options.audio_format 9"), std::string::npos) << Refusal(format);
  v1::SessionOptions lag;
  lag.set_phase1_critic_lag(2);
  EXPECT_NE(Refusal(lag).find("options.phase1_critic_lag must be 0"), std::string::npos);
  EXPECT_EQ(Refusal(v1::SessionOptions()), "");
}

TEST(SessionOptionsTest, ARetryMustNotSetAnOptionToAnotherValue) {
  v1::SessionOptions first;
  first.set_phase1_loops(10);
  v1::SessionOptions stored = first;
  ASSERT_TRUE(CompleteSessionOptions(stored, {}, 3).ok());
  const std::string bytes = stored.SerializeAsString();
  // The same request, or one that leaves more unset, is the same session.
  EXPECT_TRUE(CheckRetryOptions(first, bytes, "s-1", "key").ok());
  EXPECT_TRUE(CheckRetryOptions(v1::SessionOptions(), bytes, "s-1", "key").ok());
  // Setting a default explicitly asks for what the session has.
  v1::SessionOptions explicit_default = first;
  explicit_default.mutable_priors()->set_bpm(120);
  EXPECT_TRUE(CheckRetryOptions(explicit_default, bytes, "s-1", "key").ok());
  v1::SessionOptions other = first;
  other.mutable_priors()->set_bpm(90);
  const absl::Status refused = CheckRetryOptions(other, bytes, "s-1", "key");
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("options.priors.bpm differs"), std::string::npos) << refused;
  EXPECT_NE(refused.message().find("session s-1"), std::string::npos) << refused;
  EXPECT_EQ(CheckRetryOptions(first, "not a message", "s-1", "key").code(),
            absl::StatusCode::kInternal);
}

TEST(SessionOptionsTest, StoredSessionsWithoutAFormatAreWav) {
  EXPECT_EQ(StoredAudioFormat(""), v1::AUDIO_FORMAT_WAV);
  v1::SessionOptions flac;
  flac.set_audio_format(v1::AUDIO_FORMAT_FLAC);
  EXPECT_EQ(StoredAudioFormat(flac.SerializeAsString()), v1::AUDIO_FORMAT_FLAC);
}

}  // namespace
}  // namespace dd
