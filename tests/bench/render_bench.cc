// Render throughput over a real sample collection: 4-repeat loops (9 s) as a listener hears
// them, the steady-state bar the critic hears, and WAV encoding.
//   build/tests/dd_render_bench [--samples=DIR] [--patterns=N]
//   (defaults: ../shared/drum-samples, 256 loops)
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/audio/audio_constants.h"
#include "common/audio/encode.h"
#include "common/pattern/generation.h"
#include "common/render/mix_kernels.h"
#include "common/render/renderer.h"
#include "common/render/steady_clip.h"
#include "tests/support/test_support.h"

namespace dd {
namespace {

struct Fixture {
  std::shared_ptr<const SampleLibrary> library;
  std::vector<Pattern> patterns;
  double mixed_frames_per_loop = 0;  // Mean over the patterns.
};

std::string g_samples_dir;
// Distinct random loops the benchmarks cycle through. 256 draw on the whole collection, so most
// renders find their four samples out of cache, as a service's renders do; a few (e.g. 1 or 16)
// keep them in cache, to separate the cost of fetching samples from the cost of mixing them.
int g_patterns = 256;

const Fixture& GetFixture() {
  static const Fixture* fixture = [] {
    auto* f = new Fixture();
    std::filesystem::path dir = g_samples_dir;
    if (dir.empty()) dir = testing::SharedDrumSamplesDir();
    if (dir.empty()) dir = testing::DefaultKitDir();
    auto library = SampleLibrary::Load(dir);
    if (!library.ok() || (*library)->samples().empty()) {
      std::cerr << "cannot load samples from " << dir << "\n";
      std::exit(1);
    }
    f->library = *library;
    double total_seconds = 0;
    double trimmed_seconds = 0;
    for (const Sample& s : f->library->samples()) {
      total_seconds += s.duration_seconds();
      trimmed_seconds += static_cast<double>(s.trimmed_frames) / kSampleRate;
    }
    std::cerr << "samples: " << dir.string() << " (" << f->library->samples().size()
              << " files, mean length " << total_seconds / f->library->samples().size()
              << " s after trimming " << trimmed_seconds / f->library->samples().size()
              << " s of silent tail)\n";
    auto pool = SelectSamplePool(f->library->ids(), {}, {}, {}, false);
    auto generator = PatternGenerator::Create({}, *pool);
    Rng rng(1);
    for (int i = 0; i < g_patterns; ++i)
      f->patterns.push_back(generator->Random(rng));
    // The mixing work per loop: every hit adds its whole sample once (the folded mix plays the
    // repeats from one bar's mix), so a bar's hits times their samples' frames.
    double mixed_frames = 0;
    for (const Pattern& pattern : f->patterns) {
      for (int t = 0; t < pattern.num_tracks(); ++t) {
        const Sample* sample = f->library->Find(pattern.track(t).sample_id);
        for (int k = 0; k < pattern.steps(); ++k)
          mixed_frames +=
              pattern.velocity(t, k) > 0.0f ? static_cast<double>(sample->pcm.size()) : 0;
      }
    }
    f->mixed_frames_per_loop = mixed_frames / static_cast<double>(f->patterns.size());
    std::cerr << "loops: " << f->patterns.size() << " random 16x4 loops, "
              << f->mixed_frames_per_loop << " sample frames mixed per loop\n";
    return f;
  }();
  return *fixture;
}

// Times renders of the fixture's loops into a reused buffer. Threads start apart in the loop
// list, so two renders at once are two different loops, as two requests would be, not the same
// samples fetched once for both.
void TimeLoopRenders(benchmark::State& state, const Renderer& renderer) {
  const Fixture& fixture = GetFixture();
  RenderedAudio out;
  size_t i = static_cast<size_t>(state.thread_index()) * fixture.patterns.size() /
             static_cast<size_t>(state.threads());
  for (auto _ : state) {
    const absl::Status status =
        renderer.RenderInto(fixture.patterns[i++ % fixture.patterns.size()], {}, out);
    benchmark::DoNotOptimize(out.pcm.data());
    if (!status.ok()) state.SkipWithError("render failed");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("loops; 9 s of audio each");
}

// Times the 16-bit samples a WAV or FLAC response holds, rendered straight from the mix, and with
// `encode_wav` the WAV file made of them: what dd-render does for a WAV response.
void TimePcm16Renders(benchmark::State& state, const Renderer& renderer, bool encode_wav) {
  const Fixture& fixture = GetFixture();
  RenderedPcm16 out;
  size_t i = 0;
  for (auto _ : state) {
    (void)renderer.RenderPcm16Into(fixture.patterns[i++ % fixture.patterns.size()], {}, out);
    benchmark::DoNotOptimize(out.pcm.data());
    if (encode_wav) {
      auto wav = EncodePcm16(out.pcm, kSampleRate, AudioEncoding::kWav16);
      benchmark::DoNotOptimize(wav->data());
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RenderLoop4Repeats(benchmark::State& state) {
  TimeLoopRenders(state, Renderer(GetFixture().library));
}
// Two threads: what a 2-core render service does when two requests come at once.
BENCHMARK(BM_RenderLoop4Repeats)->Threads(1)->Threads(2)->UseRealTime();

// Not a render, and run just before the helpers' benchmarks: how long a cache line takes to go
// to another core and back (one thread sets a flag, another answers). What a helper costs
// depends on it: ~0.1 us where the cores share a cache; on this project's VM it is sometimes
// ~0.35 us, when the host runs its two vCPUs on cores that do not, and then so is every cache
// line of output that moves between the cores.
void BM_CoreToCoreRoundTrip(benchmark::State& state) {
  std::atomic<int64_t> flag{0};
  std::atomic<bool> stop{false};
  std::thread partner([&] {
    for (int64_t seen = 0; !stop.load(std::memory_order_relaxed);) {
      const int64_t now = flag.load(std::memory_order_acquire);
      if (now != seen && now % 2 == 1) {
        seen = now + 1;
        flag.store(seen, std::memory_order_release);
      }
    }
  });
  int64_t sent = -1;
  for (auto _ : state) {
    sent += 2;
    flag.store(sent, std::memory_order_release);
    while (flag.load(std::memory_order_acquire) != sent + 1) {
    }
  }
  stop.store(true);
  partner.join();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CoreToCoreRoundTrip)->UseRealTime();

// One team per helper count for the whole run, shared by the benchmark's threads as dd-render's
// request threads share one.
std::shared_ptr<HelperTeam> SharedHelperTeam(int helpers) {
  static std::mutex mutex;
  static std::map<int, std::shared_ptr<HelperTeam>> teams;
  std::lock_guard<std::mutex> lock(mutex);
  std::shared_ptr<HelperTeam>& team = teams[helpers];
  if (team == nullptr) {
    auto created = HelperTeam::Create({.helpers = helpers});
    if (!created.ok()) {
      std::cerr << created.status() << "\n";
      std::exit(1);
    }
    team = *std::move(created);
  }
  return team;
}

// Renders whose blocks are shared with helper threads (the argument: how many), as dd-render
// does by default. One thread: the time one request waits for its loop when the other cores are
// idle. Two threads: two requests at once, the helper going to whichever asks first.
void BM_RenderLoop4RepeatsWithHelpers(benchmark::State& state) {
  TimeLoopRenders(
      state, Renderer(GetFixture().library, SharedHelperTeam(static_cast<int>(state.range(0)))));
}
BENCHMARK(BM_RenderLoop4RepeatsWithHelpers)
    ->ArgName("helpers")
    ->Arg(1)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

void BM_RenderLoop4RepeatsFreshBuffer(benchmark::State& state) {
  const Fixture& fixture = GetFixture();
  const Renderer renderer(fixture.library);
  size_t i = 0;
  for (auto _ : state) {
    auto audio = renderer.Render(fixture.patterns[i++ % fixture.patterns.size()], {});
    benchmark::DoNotOptimize(audio->pcm.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenderLoop4RepeatsFreshBuffer);

void BM_RenderSteadyBar(benchmark::State& state) {
  const Fixture& fixture = GetFixture();
  const Renderer renderer(fixture.library);
  RenderedAudio out;
  size_t i = 0;
  for (auto _ : state) {
    (void)renderer.RenderSteadyBarInto(fixture.patterns[i++ % fixture.patterns.size()], {}, out);
    benchmark::DoNotOptimize(out.pcm.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenderSteadyBar);

// What dd-critic does with a Score call of 64 loops: each rendered to the 2 s clip the critic
// hears, the loops shared out one at a time between the call's thread and the idle helpers (the
// argument: how many; dd-critic --render_helpers). Items are loops.
void BM_RenderSteadyClips64(benchmark::State& state) {
  constexpr int kLoops = 64;
  constexpr int64_t kClipFrames = 88200;
  const Fixture& fixture = GetFixture();
  const Renderer renderer(fixture.library);
  const std::shared_ptr<HelperTeam> team = SharedHelperTeam(static_cast<int>(state.range(0)));
  std::vector<float> clips(static_cast<size_t>(kLoops * kClipFrames));
  std::vector<RenderedAudio> scratch(static_cast<size_t>(team->helpers() + 1));
  size_t first = 0;
  for (auto _ : state) {
    const absl::Status rendered = ForEachIndex(team.get(), kLoops, [&](int i, int participant) {
      return RenderSteadyClipInto(renderer, fixture.patterns[(first + i) % fixture.patterns.size()],
                                  clips.data() + i * kClipFrames, kClipFrames,
                                  scratch[static_cast<size_t>(participant)]);
    });
    if (!rendered.ok()) state.SkipWithError(rendered.ToString().c_str());
    first += kLoops;
    benchmark::DoNotOptimize(clips.data());
  }
  state.SetItemsProcessed(state.iterations() * kLoops);
}
BENCHMARK(BM_RenderSteadyClips64)->ArgName("helpers")->Arg(0)->Arg(1)->UseRealTime();

// Frames of a 4-repeat 16-step loop at 120 bpm with its 1 s tail: the floors' buffer size.
size_t LoopFrames() {
  return static_cast<size_t>(StepStartFrame(16 * 4, 120.0) + kSampleRate);
}

// Not a render: the least any renderer of a 9 s float loop must do, writing its 1.6 MB once
// (a copy from a buffer already in cache), as the floor the render times stand on.
void BM_FloorWriteLoopSizedBuffer(benchmark::State& state) {
  std::vector<float> source(LoopFrames(), 0.25f), out(source.size());
  for (auto _ : state) {
    std::memcpy(out.data(), source.data(), out.size() * sizeof(float));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(out.size() * sizeof(float)));
}
BENCHMARK(BM_FloorWriteLoopSizedBuffer);

// Not a render either: the 1.6 MB written with nothing read, the store-only floor.
void BM_FloorFillLoopSizedBuffer(benchmark::State& state) {
  std::vector<float> out(LoopFrames());
  int byte = 0;
  for (auto _ : state) {
    // memset: glibc's widest stores (a plain fill loop is built for the baseline's 16 bytes).
    std::memset(out.data(), ++byte & 0x3f, out.size() * sizeof(float));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(out.size() * sizeof(float)));
}
BENCHMARK(BM_FloorFillLoopSizedBuffer);

// Not a render: the renderer's multiply-add kernel doing a mean loop's mixing work (the sample
// frames printed at start-up) with every source in L1 and nothing written but 512 bytes per
// call: the arithmetic floor of the mixing, with no memory traffic to wait for. Eight sources in
// four runs of equal gains, as four tracks with two hits sounding each (a mean loop has ~8 hits
// sounding at any frame).
void BM_FloorMixArithmeticInL1(benchmark::State& state) {
  const Fixture& fixture = GetFixture();
  constexpr int kSources = 8;
  constexpr int64_t kTile = 128;
  std::vector<int16_t> samples(kSources * 2 * kTile, int16_t{8192});
  std::vector<const int16_t*> sources;
  for (int k = 0; k < kSources; ++k)
    sources.push_back(samples.data() + 2 * kTile * k);
  const std::vector<float> gains = {0.5f, 0.5f, 0.25f, 0.25f, 0.125f, 0.125f, 0.375f, 0.375f};
  std::vector<float> acc(kTile);
  const auto calls = static_cast<int64_t>(fixture.mixed_frames_per_loop / (kSources * kTile));
  for (auto _ : state) {
    for (int64_t c = 0; c < calls; ++c) {
      mix::SumScaled(acc.data(), sources.data(), gains.data(), kSources, kTile);
      benchmark::DoNotOptimize(acc.data());
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("one mean loop's sample frames");
}
BENCHMARK(BM_FloorMixArithmeticInL1);

void BM_RenderAndEncodeWav(benchmark::State& state) {
  const Fixture& fixture = GetFixture();
  const Renderer renderer(fixture.library);
  RenderedAudio out;
  size_t i = 0;
  for (auto _ : state) {
    (void)renderer.RenderInto(fixture.patterns[i++ % fixture.patterns.size()], {}, out);
    auto wav = EncodeAudio(out.pcm, kSampleRate, AudioEncoding::kWav16);
    benchmark::DoNotOptimize(wav->data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenderAndEncodeWav);

// The render alone into 16-bit samples, on one core: half the bytes of the float render to store.
void BM_RenderPcm16Loop4Repeats(benchmark::State& state) {
  TimePcm16Renders(state, Renderer(GetFixture().library), false);
}
BENCHMARK(BM_RenderPcm16Loop4Repeats);

// What the render service does for a WAV response, on one core.
void BM_RenderPcm16AndEncodeWav(benchmark::State& state) {
  TimePcm16Renders(state, Renderer(GetFixture().library), true);
}
BENCHMARK(BM_RenderPcm16AndEncodeWav);

// The same with a helper, as dd-render runs by default: the encoder then reads the part of the
// loop that the helper wrote from the other core's cache.
void BM_RenderPcm16AndEncodeWavWithHelpers(benchmark::State& state) {
  TimePcm16Renders(
      state, Renderer(GetFixture().library, SharedHelperTeam(static_cast<int>(state.range(0)))),
      true);
}
BENCHMARK(BM_RenderPcm16AndEncodeWavWithHelpers)->ArgName("helpers")->Arg(1)->UseRealTime();

}  // namespace
}  // namespace dd

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--samples=", 10) == 0) dd::g_samples_dir = argv[i] + 10;
    if (std::strncmp(argv[i], "--patterns=", 11) == 0) {
      dd::g_patterns = std::atoi(argv[i] + 11);
      if (dd::g_patterns < 1) {
        std::cerr << "--patterns must be a positive number of loops\n";
        return 2;
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
