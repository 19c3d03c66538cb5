// A rhythm input for the critic: how sharply each frequency band's level rises at each
// sixteenth-note step of the clip. The paper's CNN sees time only through three stride-4 layers,
// which leave 5 columns for a whole bar, so "where in the bar do the kicks fall" reaches its dense
// layer smeared over ~3 steps; simulated listeners whose taste is about hit positions were not
// learned (README, "Simulated listeners"). This hands those positions to the network directly.
//
// The clip is one bar (the steady-state bar, 2 s) of `kOnsetSteps` equal steps. The onset strength
// of a band at a frame is the rise of its mean mel level in dB since the previous frame (0 when it
// falls), frames counted circularly since the steady bar wraps; a step's value is the largest rise
// in a short window around its first frame, wide enough for the critic's shift augmentation.
#pragma once

#include <torch/types.h>

namespace dd::critic {

inline constexpr int kOnsetSteps = 16;
inline constexpr int kOnsetBands = 4;  // Mel bands [0, 6), [6, 24), [24, 64), [64, 128).
inline constexpr int kStepOnsetFeatures = kOnsetSteps * kOnsetBands;

// mel_db: (batch, time, 128) as Mfcc::MelDb returns for a clip of clip_frames samples at
// hop_length. Returns (batch, kStepOnsetFeatures), step-major: [step][band], in tenths of a dB.
// `window_frames` is StepOnsetWindows(hop_length, clip_frames) on mel_db's device, or undefined
// to make it here.
torch::Tensor StepOnsets(const torch::Tensor& mel_db, int hop_length, int64_t clip_frames,
                         const torch::Tensor& window_frames = {});

// The frames StepOnsets reads around each step, as an index tensor on `device`. Made once by a
// caller that computes onsets often, or inside a CUDA graph, which cannot record the copy from
// the host that making it takes.
torch::Tensor StepOnsetWindows(int hop_length, int64_t clip_frames, torch::Device device);

// Summaries of the step onsets that a dense layer cannot form itself from 80 examples: per band,
// how much happens (log of the bar's total), where in the beat it happens (share of the band's
// onsets on each of the four sixteenths of a beat, over the four beats: "kicks on the beat",
// "hats on the offbeat"), and whether the second half-bar repeats the first (correlation of the
// two halves). Ratios and products, which is why they are given rather than left to be learned.
inline constexpr int kBeatPositions = 4;
inline constexpr int kRhythmSummaryFeatures = kOnsetBands * (1 + kBeatPositions + 1);
inline constexpr int kRhythmFeatures = kStepOnsetFeatures + kRhythmSummaryFeatures;

// step_onsets: (batch, kStepOnsetFeatures) from StepOnsets. Returns (batch,
// kRhythmSummaryFeatures).
torch::Tensor RhythmSummary(const torch::Tensor& step_onsets);

// The rhythm branch's input: StepOnsets and their RhythmSummary side by side,
// (batch, kRhythmFeatures). `window_frames` as for StepOnsets.
torch::Tensor RhythmFeatures(const torch::Tensor& mel_db, int hop_length, int64_t clip_frames,
                             const torch::Tensor& window_frames = {});

}  // namespace dd::critic
