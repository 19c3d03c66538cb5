// Where a loop's steps fall on the 44.1 kHz clock, and how long a rendered loop lasts: what the
// renderer places hits by, and what a service can tell a client without rendering anything.
#pragma once

#include <cstdint>

namespace dd {

// First frame of the n-th sixteenth-note step counted from the start of the clip:
// floor(n * 60 / bpm / 4 * 44100).
int64_t StepStartFrame(int64_t step_index, double bpm);
// Frames in one bar of `steps` steps: StepStartFrame(steps, bpm).
int64_t BarFrames(int steps, double bpm);
// Frames in `repeats` bars of `steps` steps followed by a tail of `tail_seconds` (rounded to the
// nearest frame): the length of a rendered loop.
int64_t LoopFrames(int steps, double bpm, int repeats, double tail_seconds);

}  // namespace dd
