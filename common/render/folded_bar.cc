#include "common/render/folded_bar.h"

#include <algorithm>
#include <atomic>
#include <utility>

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

  // Back to the bar's start, so that the window may next be placed anywhere.
  void Rewind() {
    next_ = 0;
    active_.clear();
  }

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

// One participant's share of a folded mix: its own sweeps, which only move forward (Rewind
// starts them over), and its own scratch.
class BlockMixer {
 public:
  BlockMixer(const std::vector<Segment>& sorted_hits, int chunks, int64_t bar_frames,
             const std::vector<FoldedBarOutput>& outputs, bool clip)
      : chunks_(chunks),
        bar_frames_(bar_frames),
        outputs_(outputs),
        clip_(clip),
        sweeps_(static_cast<size_t>(chunks), WindowSweep(&sorted_hits)) {
    chunk_sums_.resize(static_cast<size_t>(chunks * kFoldBlockFrames));
    float_block_.resize(kFoldBlockFrames);
  }

  // Writes every output's frames [offset, offset + kFoldBlockFrames) that it has; returns the
  // frames beyond full scale among them. Offsets must increase from call to call.
  int64_t MixBlock(int64_t offset);
  // Lets the next MixBlock start anywhere.
  void Rewind() {
    for (WindowSweep& sweep : sweeps_)
      sweep.Rewind();
  }

 private:
  const int chunks_;
  const int64_t bar_frames_;
  const std::vector<FoldedBarOutput>& outputs_;
  const bool clip_;
  std::vector<WindowSweep> sweeps_;
  // Per thread, so a render reuses them: the chunks' sums for one block, and a block of 16-bit
  // output summed in float before it is converted while still in L1.
  static thread_local std::vector<float> chunk_sums_;
  static thread_local std::vector<float> float_block_;
  std::vector<const int16_t*> whole_sources_;
  std::vector<float> whole_gains_;
  std::vector<const Segment*> partial_;
  std::vector<const float*> parts_;
};

thread_local std::vector<float> BlockMixer::chunk_sums_;
thread_local std::vector<float> BlockMixer::float_block_;

int64_t BlockMixer::MixBlock(int64_t offset) {
  const int64_t count = std::min(kFoldBlockFrames, bar_frames_ - offset);
  for (int c = 0; c < chunks_; ++c) {
    const int64_t begin = c * bar_frames_ + offset;
    whole_sources_.clear();
    whole_gains_.clear();
    partial_.clear();
    sweeps_[static_cast<size_t>(c)].Advance(begin, begin + count, whole_sources_, whole_gains_,
                                            partial_);
    float* sum = chunk_sums_.data() + c * kFoldBlockFrames;
    SumScaled(sum, whole_sources_.data(), whole_gains_.data(),
              static_cast<int>(whole_sources_.size()), count);
    for (const Segment* segment : partial_) {
      const int64_t from = std::max(begin, segment->first);
      const int64_t to = std::min(begin + count, segment->first + segment->count);
      MixInto(sum + (from - begin), segment->source + (from - segment->first), to - from,
              segment->gain);
    }
  }
  // Consecutive outputs often hear the same chunks (bars 1 to R-1 of a loop); those are summed
  // once per block and copied.
  int64_t clipped = 0;
  const FoldedBarOutput* summed = nullptr;
  int64_t summed_clipped = 0;
  for (const FoldedBarOutput& output : outputs_) {
    if (offset >= output.frames) continue;
    const int64_t frames = std::min(count, output.frames - offset);
    const int first = std::max(0, output.first_chunk);
    const int last = std::min(chunks_ - 1, output.last_chunk);
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
        std::min(chunks_ - 1, summed->last_chunk) == last &&
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
    float* out = to_pcm16 ? float_block_.data() : output.pcm + offset;
    parts_.clear();
    for (int c = first; c <= last; ++c)
      parts_.push_back(chunk_sums_.data() + c * kFoldBlockFrames);
    const float peak = SumParts(out, parts_.data(), static_cast<int>(parts_.size()), frames);
    // Clamping first changes no 16-bit sample (FloatToPcm16 clamps too); it counts them.
    summed_clipped = (clip_ || to_pcm16) && peak > 1.0f ? ClipInPlace(out, frames) : 0;
    clipped += summed_clipped;
    if (to_pcm16) FloatToPcm16(out, output.pcm16 + offset, frames);
    summed = &output;
  }
  return clipped;
}

// The bar's blocks, shared out from both ends: the render's own thread takes runs from the front
// and helpers from the back, so that render after render each thread writes much the same part
// of the output, whose cache lines then stay in its core's cache instead of moving between cores
// (when this project's VM ran its two vCPUs on cores with no shared cache, claiming from the
// front only left a helper no benefit at all: 82-90 us a loop, against 50-52 us). Each claim
// takes a quarter of what is left, at least one block: a few claims per render, the last ones
// short enough that everyone finishes together.
class BlockClaims {
 public:
  explicit BlockClaims(int64_t blocks) : blocks_(blocks) {}

  // The next blocks [first, end) for a participant taking from the front or the back; empty once
  // none are left.
  std::pair<int64_t, int64_t> Claim(bool from_front) {
    uint64_t was = taken_.load(std::memory_order_relaxed);
    for (;;) {
      const int64_t front = static_cast<int64_t>(was & 0xffffffffu);
      const int64_t back = static_cast<int64_t>(was >> 32);
      const int64_t left = blocks_ - front - back;
      if (left <= 0) return {0, 0};
      const int64_t count = std::max<int64_t>(1, left / 4);
      const uint64_t now =
          was + static_cast<uint64_t>(count) * (from_front ? 1 : uint64_t{1} << 32);
      if (taken_.compare_exchange_weak(was, now, std::memory_order_relaxed)) {
        return from_front ? std::pair(front, front + count)
                          : std::pair(blocks_ - back - count, blocks_ - back);
      }
    }
  }

 private:
  const int64_t blocks_;
  std::atomic<uint64_t> taken_{0};  // Low 32 bits: blocks taken from the front; high: the back.
};

}  // namespace

int FoldedChunks(const std::vector<Segment>& hits, int64_t bar_frames) {
  int64_t end = 0;
  for (const Segment& hit : hits)
    end = std::max(end, hit.first + hit.count);
  return static_cast<int>(std::max<int64_t>(1, (end + bar_frames - 1) / bar_frames));
}

int64_t MixFoldedBar(std::vector<Segment>& hits, int64_t bar_frames,
                     const std::vector<FoldedBarOutput>& outputs, bool clip, HelperTeam* helpers) {
  std::stable_sort(hits.begin(), hits.end(),
                   [](const Segment& a, const Segment& b) { return a.first < b.first; });
  const int chunks = FoldedChunks(hits, bar_frames);
  const int64_t blocks = (bar_frames + kFoldBlockFrames - 1) / kFoldBlockFrames;
  BlockClaims claims(blocks);
  std::atomic<int64_t> clipped{0};
  // Every block is mixed the same way whoever takes it, so the bits do not depend on how the
  // blocks were shared out.
  const auto mix_blocks = [&](int participant) {
    BlockMixer mixer(hits, chunks, bar_frames, outputs, clip);
    const bool from_front = participant == 0;
    int64_t my_clipped = 0;
    for (;;) {
      const auto [first, end] = claims.Claim(from_front);
      if (first == end) break;
      if (!from_front) mixer.Rewind();  // Each claim from the back lies before the last.
      for (int64_t block = first; block < end; ++block)
        my_clipped += mixer.MixBlock(block * kFoldBlockFrames);
    }
    clipped.fetch_add(my_clipped, std::memory_order_relaxed);
  };
  if (helpers != nullptr && blocks > 1) {
    helpers->Run(mix_blocks);
  } else {
    mix_blocks(0);
  }
  return clipped.load(std::memory_order_relaxed);
}

}  // namespace dd::mix
