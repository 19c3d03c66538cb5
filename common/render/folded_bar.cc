#include "common/render/folded_bar.h"

#include <algorithm>

namespace dd::mix {
namespace {

// Bar frames summed per pass: the chunks' sums for one block stay in L1 (4 KiB each).
constexpr int64_t kFoldBlockFrames = 1024;

// The segments that overlap a window that only moves forward, split into those that cover it
// whole (summed in registers) and those that start or end inside it (at most twice per segment).
class WindowSweep {
 public:
  explicit WindowSweep(const std::vector<Segment>* sorted) : sorted_(sorted) {}

  void Advance(int64_t begin, int64_t end, std::vector<const float*>& whole_sources,
               std::vector<float>& whole_gains, std::vector<const Segment*>& partial) {
    while (next_ < sorted_->size() && (*sorted_)[next_].first < end)
      active_.push_back(&(*sorted_)[next_++]);
    size_t kept = 0;
    for (const Segment* segment : active_) {
      const int64_t segment_end = segment->first + segment->count;
      if (segment_end <= begin) continue;
      active_[kept++] = segment;
      if (segment->first <= begin && segment_end >= end) {
        whole_sources.push_back(segment->source + (begin - segment->first));
        whole_gains.push_back(segment->gain);
      } else {
        partial.push_back(segment);
      }
    }
    active_.resize(kept);
  }

 private:
  const std::vector<Segment>* sorted_;
  size_t next_ = 0;
  std::vector<const Segment*> active_;
};

}  // namespace

int FoldedChunks(const std::vector<Segment>& hits, int64_t bar_frames) {
  int64_t end = 0;
  for (const Segment& hit : hits)
    end = std::max(end, hit.first + hit.count);
  return static_cast<int>(std::max<int64_t>(1, (end + bar_frames - 1) / bar_frames));
}

int64_t MixFoldedBar(std::vector<Segment>& hits, int64_t bar_frames,
                     const std::vector<FoldedBarOutput>& outputs, bool clip) {
  std::stable_sort(hits.begin(), hits.end(),
                   [](const Segment& a, const Segment& b) { return a.first < b.first; });
  const int chunks = FoldedChunks(hits, bar_frames);
  std::vector<WindowSweep> sweeps(static_cast<size_t>(chunks), WindowSweep(&hits));
  thread_local std::vector<float> chunk_sums;
  chunk_sums.resize(static_cast<size_t>(chunks * kFoldBlockFrames));
  std::vector<const float*> whole_sources;
  std::vector<float> whole_gains;
  std::vector<const Segment*> partial;
  std::vector<const float*> parts;
  int64_t clipped = 0;

  for (int64_t offset = 0; offset < bar_frames; offset += kFoldBlockFrames) {
    const int64_t count = std::min(kFoldBlockFrames, bar_frames - offset);
    for (int c = 0; c < chunks; ++c) {
      const int64_t begin = c * bar_frames + offset;
      whole_sources.clear();
      whole_gains.clear();
      partial.clear();
      sweeps[static_cast<size_t>(c)].Advance(begin, begin + count, whole_sources, whole_gains,
                                             partial);
      float* sum = chunk_sums.data() + c * kFoldBlockFrames;
      SumScaled(sum, whole_sources.data(), whole_gains.data(),
                static_cast<int>(whole_sources.size()), count);
      for (const Segment* segment : partial) {
        const int64_t from = std::max(begin, segment->first);
        const int64_t to = std::min(begin + count, segment->first + segment->count);
        MixInto(sum + (from - begin), segment->source + (from - segment->first), to - from,
                segment->gain);
      }
    }
    // Consecutive outputs often hear the same chunks (bars 1 to R-1 of a loop); those are summed
    // once per block and copied.
    const FoldedBarOutput* summed = nullptr;
    int64_t summed_clipped = 0;
    for (const FoldedBarOutput& output : outputs) {
      if (offset >= output.frames) continue;
      const int64_t frames = std::min(count, output.frames - offset);
      const int first = std::max(0, output.first_chunk);
      const int last = std::min(chunks - 1, output.last_chunk);
      float* out = output.pcm + offset;
      if (first > last) {
        std::fill(out, out + frames, 0.0f);
        continue;
      }
      if (summed != nullptr && std::max(0, summed->first_chunk) == first &&
          std::min(chunks - 1, summed->last_chunk) == last &&
          std::min(count, summed->frames - offset) == frames) {
        std::copy(summed->pcm + offset, summed->pcm + offset + frames, out);
        clipped += summed_clipped;
        continue;
      }
      parts.clear();
      for (int c = first; c <= last; ++c)
        parts.push_back(chunk_sums.data() + c * kFoldBlockFrames);
      const float peak = SumParts(out, parts.data(), static_cast<int>(parts.size()), frames);
      summed_clipped = clip && peak > 1.0f ? ClipInPlace(out, frames) : 0;
      clipped += summed_clipped;
      summed = &output;
    }
  }
  return clipped;
}

}  // namespace dd::mix
