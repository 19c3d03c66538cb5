// Hyper-parameters of one critic, in one place. Defaults are the paper's (section 3.2 and the
// original code), so a critic created with no options behaves as the one the study used.
//
// This library builds with LibTorch alone (no Abseil, no gRPC), so that it can be built and
// benchmarked on a GPU machine that has nothing else; errors are therefore plain strings here and
// become absl::Status in the storage and service layers.
#pragma once

#include <cstdint>
#include <string>

namespace dd::critic {

// The clip the critic hears: 2 s at 44.1 kHz, i.e. one bar at 120 bpm (the steady-state bar of a
// loop, previous bar's tails wrapped in).
inline constexpr int kClipSampleRate = 44100;
inline constexpr int64_t kClipFrames = 2 * kClipSampleRate;

// The largest sample magnitude a clip may have (full scale is 1). One sample that is not a number
// makes every weight NaN in the next training round; one far beyond full scale overflows the
// float32 power spectrum to infinity, with the same result. At this bound a frame's power stays
// below ~1e18, far from float32's limit, with room for any real mix.
inline constexpr float kMaxClipSampleMagnitude = 1e6f;

// The index of the first sample of `clip` that is not finite or beyond kMaxClipSampleMagnitude;
// -1 when the clip is fit to hear.
int64_t FirstUnfitSample(const float* clip, int64_t frames);

struct CriticConfig {
  double learning_rate = 5.739e-5;         // Adam learning rate.
  double weight_decay = 5.896e-6;          // Adam (L2) weight decay.
  double dropout = 0.1674;                 // Dropout after the first three conv layers.
  int minibatches_per_rating = 40;         // Gradient steps after each rating.
  int minibatch_size = 16;                 // Clips per minibatch: half liked, half disliked.
  double augment_gain_stddev = 0.05;       // Gain ~ N(1, s), per clip.
  double augment_dc_offset_stddev = 0.05;  // DC offset ~ N(0, s), per clip.
  double augment_noise_stddev = 0.006;     // White noise ~ N(0, s), per sample.
  int augment_max_shift = 128;             // Circular shift ~ U[0, n) samples, per clip.
  // The sample rate the mel filter bank assumes. torchaudio's default (16000) applied to 44.1 kHz
  // audio is what the original did, so the bank spans 0..8 kHz "as if" at 16 kHz, which really
  // covers 0..22 kHz with stretched bands. Kept as the default for fidelity; 44100 is the honest
  // rate.
  int mel_sample_rate = 16000;
  // Adds a second input beside the MFCC image: onset strength per sixteenth-note step and band
  // and their summaries (step_onsets.h), through a dense layer of 32 joined to the CNN's output
  // before its dense layer, and through a linear skip to the outputs (+7,122 parameters). Off by
  // default: the paper's network.
  bool rhythm_branch = false;
  // Adam learning rate of the rhythm branch's own layer; 0 means learning_rate. The branch sees a
  // few dozen numbers where the CNN sees an image, so it can afford (and, with 80 ratings, needs)
  // larger steps than the paper's rate, which was tuned for the CNN.
  double rhythm_learning_rate = 0;
  uint64_t seed = 0;  // Initial weights, minibatch draws, dropout and augmentation.
};

// Empty when the config is usable, otherwise what is wrong with it.
std::string ValidateConfig(const CriticConfig& config);

// What ValidateConfig says of the count field `field` (minibatches_per_rating, minibatch_size,
// augment_max_shift or mel_sample_rate) holding `value`: empty when it is in range. For callers
// that receive counts wider than the config's int, so that a count too large to store is told
// the field's range, not the int's.
std::string CountProblem(const std::string& field, int64_t value);

}  // namespace dd::critic
