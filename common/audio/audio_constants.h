#pragma once

namespace dd {
// Every clip in the system is mono at this rate: the paper's renderer and critic work at 44.1 kHz.
inline constexpr int kSampleRate = 44100;
}  // namespace dd
