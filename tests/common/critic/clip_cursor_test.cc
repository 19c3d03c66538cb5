// ClipCursor hands out the clips of several runs in order, never a stretch across two runs, and
// CopyClips puts each where it belongs in a batch: the way a batch of requests reaches the device
// without being gathered on the host.
#include "common/critic/clip_cursor.h"

#include <gtest/gtest.h>

#include <vector>

#include <torch/torch.h>

namespace dd::critic {
namespace {

// `count` clips whose every sample is the clip's number, from `first` on.
std::vector<float> NumberedClips(int first, int count) {
  std::vector<float> clips;
  for (int i = 0; i < count; ++i)
    clips.insert(clips.end(), kClipFrames, static_cast<float>(first + i));
  return clips;
}

TEST(ClipCursorTest, HandsOutStretchesWithinOneRunInOrder) {
  const std::vector<float> a = NumberedClips(0, 3), b = NumberedClips(3, 0),
                           c = NumberedClips(3, 4);
  const std::vector<ClipRun> runs = {{a.data(), 3}, {b.data(), 0}, {c.data(), 4}};
  ClipCursor cursor(runs);
  const ClipRun first = cursor.Take(2);
  EXPECT_EQ(first.clips, a.data());
  EXPECT_EQ(first.count, 2);
  const ClipRun rest_of_a = cursor.Take(5);  // Stops at the run's end, not in the next run.
  EXPECT_EQ(rest_of_a.clips, a.data() + 2 * kClipFrames);
  EXPECT_EQ(rest_of_a.count, 1);
  const ClipRun from_c = cursor.Take(10);  // The empty run is skipped.
  EXPECT_EQ(from_c.clips, c.data());
  EXPECT_EQ(from_c.count, 4);
}

TEST(ClipCursorTest, CopyClipsFillsTheRowsAcrossRuns) {
  const std::vector<float> a = NumberedClips(0, 2), b = NumberedClips(2, 3);
  const std::vector<ClipRun> runs = {{a.data(), 2}, {b.data(), 3}};
  ClipCursor cursor(runs);
  torch::Tensor batch = torch::full({5, kClipFrames}, -1.0f);
  CopyClips(cursor, batch, 1, 4, /*non_blocking=*/false);  // Rows 1..3 get clips 0..2.
  CopyClips(cursor, batch, 0, 1, /*non_blocking=*/false);  // Row 0 gets clip 3.
  const std::vector<float> expected_first = {3, 0, 1, 2, -1};
  for (int row = 0; row < 5; ++row) {
    EXPECT_EQ(batch[row].min().item<float>(), expected_first[row]) << "row " << row;
    EXPECT_EQ(batch[row].max().item<float>(), expected_first[row]) << "row " << row;
  }
  EXPECT_EQ(HostClipTensor(runs[1]).data_ptr<float>(), b.data()) << "a view, not a copy";
}

}  // namespace
}  // namespace dd::critic
