// The arithmetic of a critic's training steps.
//
// kFloat32 is the paper's. kBFloat16 runs the network's forward and backward passes in bfloat16
// where LibTorch's autocast allows it (convolutions, dense layers, the activations and dropout
// between them) and keeps in float32 what needs the range: the weights and Adam's state, the
// MFCC front end, batch-norm statistics and the loss. On a CPU with native bfloat16 (AVX512-BF16
// or AMX) a rating trains in about two thirds of the time, with the same learning on the
// acceptance test (tests/common/critic/critic_test.cc runs it both ways). Scoring is float32
// either way. Like the device, this is a worker's choice, not the critic's: a critic's state is
// float32 whatever trained it, so any worker can take it over.
//
// No LibTorch here, so that services and flags can name a precision without including torch.
#pragma once

#include <optional>
#include <string>

namespace dd::critic {

enum class TrainingPrecision { kFloat32, kBFloat16 };

// "float32" or "bfloat16".
const char* TrainingPrecisionName(TrainingPrecision precision);

// Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX-BF16, with the OS saving
// AVX-512 state). Elsewhere bfloat16 is emulated and slower than float32.
bool CpuHasNativeBFloat16();

// "float32", "bfloat16", or "auto": bfloat16 for a "cpu" device whose CPU has it natively,
// float32 otherwise (GPU figures for bfloat16 are not measured yet). nullopt and *error for
// anything else.
std::optional<TrainingPrecision> ParseTrainingPrecision(const std::string& text,
                                                        const std::string& device,
                                                        std::string* error);

}  // namespace dd::critic
