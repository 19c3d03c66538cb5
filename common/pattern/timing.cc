#include "common/pattern/timing.h"

#include <cmath>

#include "common/audio/audio_constants.h"

namespace dd {

int64_t StepStartFrame(int64_t step_index, double bpm) {
  // 60 * 44100 / 4 frames per step at 1 bpm; the small epsilon keeps exact products such as
  // 5512.5 * 2 from landing just below an integer through rounding.
  const double frames = static_cast<double>(step_index) * (60.0 * kSampleRate / 4.0) / bpm;
  return static_cast<int64_t>(std::floor(frames + 1e-7));
}

int64_t BarFrames(int steps, double bpm) {
  return StepStartFrame(steps, bpm);
}

int64_t LoopFrames(int steps, double bpm, int repeats, double tail_seconds) {
  const int64_t bars = StepStartFrame(static_cast<int64_t>(steps) * repeats, bpm);
  return bars + static_cast<int64_t>(std::llround(tail_seconds * kSampleRate));
}

}  // namespace dd
