// What StartSession makes of the options a client sends: every value the session will run with,
// filled in and checked before anything is stored, so that a session never fails later on
// options it accepted and a stored session says all it ran with.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "deepdrummer/v1/session.pb.h"

namespace dd {

struct SessionOptionLimits {
  int max_phase1_loops = 1000;            // Largest SessionOptions.phase1_loops accepted.
  int max_phase2_loops_per_critic = 500;  // Largest phase2_loops_per_critic accepted.
  // SessionOptions.phase1_critic_lag for sessions that leave it unset: 0 keeps the paper's order;
  // 1 suits critic workers whose training round takes longer than a NextLoop should wait.
  int default_phase1_critic_lag = 0;
  // Largest sampler.min_steps + sampler.max_steps accepted: the most Metropolis-Hastings steps one
  // loop may take (a Phase I chain walks min_steps, then up to max_steps more while it sits on a
  // loop it must avoid; a Phase II chain at most max_steps). Each step is one critic scoring
  // (~1.7 ms on a 2-core CPU worker), and a loop must be drawn within the generator's timeout, or
  // the session could never go on. The paper's options take at most 600.
  int max_sampling_steps = 10000;
};

// Fills every unset field of `options` with the value the session will use (the paper's, or
// `unset_seed` for the seed) and checks every field, naming it in an INVALID_ARGUMENT. The
// critic's seed, unless set, follows from the session's, so a session can be replayed.
absl::Status CompleteSessionOptions(deepdrummer::v1::SessionOptions& options,
                                    const SessionOptionLimits& limits, uint64_t unset_seed);

// OK when a StartSession retry under `request_id` asks for what the session it started has:
// every option the retry sets equal to the stored (completed) one. Otherwise INVALID_ARGUMENT
// naming the first option that differs, as answering with a session of other options would tell
// the client it got what it asked for when it did not.
absl::Status CheckRetryOptions(const deepdrummer::v1::SessionOptions& requested,
                               const std::string& stored_options, const std::string& session_id,
                               const std::string& request_id);

// The encoding of a session's audio, from its stored options (sessions started before
// StartSession recorded its defaults may leave it unset: WAV).
deepdrummer::v1::AudioFormat StoredAudioFormat(const std::string& stored_options);

}  // namespace dd
