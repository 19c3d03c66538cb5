#include "common/render/folded_bar.h"

#include <algorithm>

#include "common/audio/pcm16.h"

namespace dd::mix {
namespace {

// 16-bit outputs are summed in float into a buffer this long, then converted while it is in L1.
constexpr int64_t kPcm16StageFrames = 1024;

// Where one hit sounds within one chunk, in bar-local frames [begin, end); bar-local frame x
// reads source[x + offset].
struct Piece {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t offset = 0;
  const float* source = nullptr;
  float gain = 1.0f;
};

// Outputs that hear the same chunks: mixed once, stored to each.
struct Range {
  int first_chunk = 0;
  int last_chunk = 0;
  std::vector<const FoldedBarOutput*> outputs;
  bool has_pcm16 = false;
};

// A render's working lists, kept per thread so that a warm renderer allocates little.
struct Scratch {
  std::vector<std::vector<Piece>> pieces;          // Per chunk, in hit order.
  std::vector<size_t> next_piece;                  // Per chunk: the first piece not yet live.
  std::vector<std::vector<const Piece*>> live;     // Per chunk: the pieces of the current span.
  std::vector<std::vector<const float*>> sources;  // Per chunk, at the current frame.
  std::vector<std::vector<float>> gains;
  std::vector<SpanChunk> span_chunks;
  std::vector<int64_t> cuts;
  std::vector<std::vector<float*>> destinations;  // Per range.
  std::vector<SpanRange> span_ranges;
  std::vector<float> stage;  // kPcm16StageFrames per range.

  void Reset(size_t chunks) {
    pieces.resize(chunks);
    live.resize(chunks);
    sources.resize(chunks);
    gains.resize(chunks);
    for (size_t c = 0; c < chunks; ++c) {
      pieces[c].clear();
      live[c].clear();
    }
    next_piece.assign(chunks, 0);
    span_chunks.resize(chunks);
    cuts.clear();
  }
};

// Each chunk's pieces, and every frame where a piece starts or ends: between two such frames
// every chunk hears the same pieces whole.
void CollectPieces(const std::vector<Segment>& hits, int64_t bar_frames, Scratch& scratch) {
  for (size_t c = 0; c < scratch.pieces.size(); ++c) {
    const int64_t chunk_start = static_cast<int64_t>(c) * bar_frames;
    for (const Segment& hit : hits) {
      const int64_t begin = std::clamp<int64_t>(hit.first - chunk_start, 0, bar_frames);
      const int64_t end = std::clamp<int64_t>(hit.first + hit.count - chunk_start, 0, bar_frames);
      if (begin >= end) continue;
      // Hits are sorted by first frame, so each chunk's pieces are sorted by begin too.
      scratch.pieces[c].push_back({begin, end, chunk_start - hit.first, hit.source, hit.gain});
      scratch.cuts.push_back(begin);
      scratch.cuts.push_back(end);
    }
  }
}

// Outputs grouped by the chunks they hear; those that hear none are written as silence here.
std::vector<Range> GroupOutputs(const std::vector<FoldedBarOutput>& outputs, int chunks) {
  std::vector<Range> ranges;
  for (const FoldedBarOutput& output : outputs) {
    if (output.frames <= 0) continue;
    const int first = std::max(0, output.first_chunk);
    const int last = std::min(chunks - 1, output.last_chunk);
    if (first > last) {
      if (output.pcm16 != nullptr) {
        std::fill(output.pcm16, output.pcm16 + output.frames, int16_t{0});
      } else {
        std::fill(output.pcm, output.pcm + output.frames, 0.0f);
      }
      continue;
    }
    auto range = std::find_if(ranges.begin(), ranges.end(), [&](const Range& r) {
      return r.first_chunk == first && r.last_chunk == last;
    });
    if (range == ranges.end()) range = ranges.insert(ranges.end(), Range{first, last, {}, false});
    range->outputs.push_back(&output);
    range->has_pcm16 = range->has_pcm16 || output.pcm16 != nullptr;
  }
  return ranges;
}

// Makes scratch.live hold, per chunk in hit order, the pieces that cover the span from `frame`
// to the next cut. Spans are visited in order, so each piece joins and leaves once.
void AdvanceLivePieces(int64_t frame, Scratch& scratch) {
  for (size_t c = 0; c < scratch.live.size(); ++c) {
    std::vector<const Piece*>& live = scratch.live[c];
    live.erase(std::remove_if(live.begin(), live.end(),
                              [&](const Piece* piece) { return piece->end <= frame; }),
               live.end());
    const std::vector<Piece>& pieces = scratch.pieces[c];
    size_t& next = scratch.next_piece[c];
    for (; next < pieces.size() && pieces[next].begin <= frame; ++next)
      live.push_back(&pieces[next]);
  }
}

// Mixes bar-local frames [frame, frame + count), which no cut divides, into every output that
// reaches them; returns the frames it counted beyond full scale.
int64_t MixSpan(int64_t frame, int64_t count, const std::vector<Range>& ranges, bool clip,
                Scratch& scratch) {
  for (size_t c = 0; c < scratch.live.size(); ++c) {
    scratch.sources[c].clear();
    scratch.gains[c].clear();
    for (const Piece* piece : scratch.live[c]) {
      scratch.sources[c].push_back(piece->source + (frame + piece->offset));
      scratch.gains[c].push_back(piece->gain);
    }
    scratch.span_chunks[c] = {scratch.sources[c].data(), scratch.gains[c].data(),
                              static_cast<int>(scratch.sources[c].size())};
  }
  for (size_t r = 0; r < ranges.size(); ++r) {
    std::vector<float*>& destinations = scratch.destinations[r];
    destinations.clear();
    for (const FoldedBarOutput* output : ranges[r].outputs) {
      if (output->frames > frame && output->pcm != nullptr)
        destinations.push_back(output->pcm + frame);
    }
    if (ranges[r].has_pcm16) destinations.push_back(scratch.stage.data() + r * kPcm16StageFrames);
    scratch.span_ranges[r] = {ranges[r].first_chunk, ranges[r].last_chunk, destinations.data(),
                              static_cast<int>(destinations.size())};
  }

  int64_t clipped = 0;
  float peaks[kMaxSpanRanges];
  for (size_t group = 0; group < ranges.size(); group += kMaxSpanRanges) {
    const size_t group_size = std::min<size_t>(kMaxSpanRanges, ranges.size() - group);
    FoldSpan(scratch.span_chunks.data(), scratch.span_ranges.data() + group,
             static_cast<int>(group_size), count, peaks);
    for (size_t j = 0; j < group_size; ++j) {
      const size_t r = group + j;
      const bool beyond = peaks[j] > 1.0f;
      float* staged = scratch.stage.data() + r * kPcm16StageFrames;
      // Clamping the staged sum changes no 16-bit sample (FloatToPcm16 clamps too); it counts them.
      const int64_t staged_clipped = ranges[r].has_pcm16 && beyond ? ClipInPlace(staged, count) : 0;
      const int16_t* converted = nullptr;
      for (const FoldedBarOutput* output : ranges[r].outputs) {
        if (output->frames <= frame) continue;
        if (output->pcm16 == nullptr) {
          if (clip && beyond) clipped += ClipInPlace(output->pcm + frame, count);
          continue;
        }
        clipped += staged_clipped;
        if (converted == nullptr) {
          FloatToPcm16(staged, output->pcm16 + frame, count);
          converted = output->pcm16 + frame;
        } else {
          std::copy(converted, converted + count, output->pcm16 + frame);
        }
      }
    }
  }
  return clipped;
}

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
  const std::vector<Range> ranges = GroupOutputs(outputs, chunks);
  if (ranges.empty()) return 0;

  thread_local Scratch scratch;
  scratch.Reset(static_cast<size_t>(chunks));
  CollectPieces(hits, bar_frames, scratch);
  // Outputs that end inside the bar (the tail) cut it too, so a span is inside every output or
  // beyond it.
  std::vector<int64_t>& cuts = scratch.cuts;
  cuts.push_back(0);
  cuts.push_back(bar_frames);
  for (const Range& range : ranges) {
    for (const FoldedBarOutput* output : range.outputs)
      cuts.push_back(std::min(output->frames, bar_frames));
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());

  bool any_pcm16 = false;
  for (const Range& range : ranges)
    any_pcm16 = any_pcm16 || range.has_pcm16;
  scratch.stage.resize(ranges.size() * static_cast<size_t>(kPcm16StageFrames));
  scratch.destinations.resize(ranges.size());
  scratch.span_ranges.resize(ranges.size());

  int64_t clipped = 0;
  for (size_t cut = 0; cut + 1 < cuts.size(); ++cut) {
    const int64_t span_begin = cuts[cut];
    const int64_t span_end = cuts[cut + 1];
    AdvanceLivePieces(span_begin, scratch);
    // 16-bit outputs go through the stage, so their spans are mixed a stage at a time.
    const int64_t step = any_pcm16 ? kPcm16StageFrames : span_end - span_begin;
    for (int64_t frame = span_begin; frame < span_end; frame += step)
      clipped += MixSpan(frame, std::min(step, span_end - frame), ranges, clip, scratch);
  }
  return clipped;
}

}  // namespace dd::mix
