#include "common/render/folded_bar.h"

#include <algorithm>

#include "common/audio/pcm16.h"

namespace dd::mix {
namespace {

// Bar frames summed per pass: the chunks' sums for one block stay in L1 (4 KiB each).
constexpr int64_t kFoldBlockFrames = 1024;

// The segments that overlap a window that only moves forward, split into those that cover it
// whole (summed in registers) and those that start or end inside it (at most twice per segment).
class WindowSweep {
 public:
  explicit WindowSweep(const std::vector<Segment>* sorted) : sorted_(sorted) {}

  void Advance(int64_t begin, int64_t end, std::vector<const int16_t*>& whole_sources,
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
    // Equal gains side by side (stably, so the order depends only on the hits): SumScaled adds
    // their 16-bit frames exactly and scales the sum once. A track's hits share a gain.
    for (size_t i = 1; i < whole_gains.size(); ++i) {
      const float gain = whole_gains[i];
      const int16_t* source = whole_sources[i];
      size_t j = i;
      for (; j > 0 && whole_gains[j - 1] > gain; --j) {
        whole_gains[j] = whole_gains[j - 1];
        whole_sources[j] = whole_sources[j - 1];
      }
      whole_gains[j] = gain;
      whole_sources[j] = source;
    }
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
  std::vector<const int16_t*> whole_sources;
  std::vector<float> whole_gains;
  std::vector<const Segment*> partial;
  std::vector<const float*> parts;
  // 16-bit outputs are summed here in float, then converted while still in L1.
  thread_local std::vector<float> float_block;
  float_block.resize(kFoldBlockFrames);
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
      const bool to_pcm16 = output.pcm16 != nullptr;
      if (first > last) {
        if (to_pcm16) {
          std::fill(output.pcm16 + offset, output.pcm16 + offset + frames, int16_t{0});
        } else {
          std::fill(output.pcm + offset, output.pcm + offset + frames, 0.0f);
        }
        continue;
      }
      if (summed != nullptr && std::max(0, summed->first_chunk) == first &&
          std::min(chunks - 1, summed->last_chunk) == last &&
          std::min(count, summed->frames - offset) == frames &&
          (summed->pcm16 != nullptr) == to_pcm16) {
        if (to_pcm16) {
          std::copy(summed->pcm16 + offset, summed->pcm16 + offset + frames, output.pcm16 + offset);
        } else {
          std::copy(summed->pcm + offset, summed->pcm + offset + frames, output.pcm + offset);
        }
        clipped += summed_clipped;
        continue;
      }
      float* out = to_pcm16 ? float_block.data() : output.pcm + offset;
      parts.clear();
      for (int c = first; c <= last; ++c)
        parts.push_back(chunk_sums.data() + c * kFoldBlockFrames);
      const float peak = SumParts(out, parts.data(), static_cast<int>(parts.size()), frames);
      // Clamping first changes no 16-bit sample (FloatToPcm16 clamps too); it counts them.
      summed_clipped = (clip || to_pcm16) && peak > 1.0f ? ClipInPlace(out, frames) : 0;
      clipped += summed_clipped;
      if (to_pcm16) FloatToPcm16(out, output.pcm16 + offset, frames);
      summed = &output;
    }
  }
  return clipped;
}

}  // namespace dd::mix
