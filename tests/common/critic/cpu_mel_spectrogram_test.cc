// CpuMelSpectrogram against LibTorch's own STFT and matrix product, which it replaces on the CPU.
#include "common/critic/cpu_mel_spectrogram.h"

#include <gtest/gtest.h>

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <string>

#include "common/critic/mfcc.h"

namespace dd::critic {
namespace {

struct Shape {
  int n_fft;
  int hop;
  int64_t frames;
};

std::string Name(const Shape& shape) {
  return "fft" + std::to_string(shape.n_fft) + "_hop" + std::to_string(shape.hop) + "_frames" +
         std::to_string(shape.frames);
}

// Noise, a tone and a decaying burst, different in each clip: broadband and tonal bins both.
torch::Tensor TestAudio(int64_t batch, int64_t frames) {
  torch::manual_seed(static_cast<uint64_t>(frames));
  const torch::Tensor t = torch::arange(frames, torch::kFloat64).unsqueeze(0) / 44100.0;
  const torch::Tensor hz = torch::arange(1, batch + 1, torch::kFloat64).unsqueeze(1) * 311.0;
  torch::Tensor audio = 0.05 * torch::randn({batch, frames}, torch::kFloat64) +
                        0.3 * torch::sin(2.0 * M_PI * hz * t) +
                        torch::randn({batch, frames}, torch::kFloat64) * torch::exp(-t * 40.0);
  return audio.to(torch::kFloat32);
}

// What Mfcc computed before CpuMelSpectrogram, through torch::stft: (batch, time, n_mels).
torch::Tensor ReferenceMelPower(const torch::Tensor& audio, int n_fft, int hop,
                                const torch::Tensor& window, const torch::Tensor& mel_bank) {
  const torch::Tensor spectrum =
      torch::stft(audio, n_fft, hop, n_fft, window, /*center=*/true, "reflect",
                  /*normalized=*/false, /*onesided=*/true, /*return_complex=*/true);
  return torch::matmul(spectrum.abs().square().transpose(1, 2), mel_bank);
}

void PrintTo(const Shape& shape, std::ostream* out) {
  *out << Name(shape);
}

class CpuMelSpectrogramShapeTest : public ::testing::TestWithParam<Shape> {};

TEST_P(CpuMelSpectrogramShapeTest, MatchesLibTorchsStftAndMelProduct) {
  const Shape shape = GetParam();
  MfccOptions options;
  options.n_fft = shape.n_fft;
  options.hop_length = shape.hop;
  // Mfcc's sparse triangles where there are bins enough for them; for tiny transforms, whose
  // bins would mostly fall between the triangles, dense random weights.
  torch::manual_seed(5);
  const torch::Tensor bank = shape.n_fft >= 256 ? Mfcc(options, torch::kCPU).mel_filter_bank()
                                                : torch::rand({shape.n_fft / 2 + 1, 16});
  const torch::Tensor window = torch::hann_window(shape.n_fft);
  std::optional<CpuMelSpectrogram> kernel =
      CpuMelSpectrogram::Create(shape.n_fft, shape.hop, window, bank);
  ASSERT_TRUE(kernel.has_value());

  const torch::Tensor audio = TestAudio(3, shape.frames);
  ASSERT_TRUE(kernel->Accepts(audio));
  const torch::Tensor got = kernel->Compute(audio);
  const torch::Tensor want = ReferenceMelPower(audio, shape.n_fft, shape.hop, window, bank);
  ASSERT_EQ(got.sizes(), want.sizes());
  ASSERT_EQ(got.size(1), 1 + shape.frames / shape.hop);

  // Both sides round differently (another FFT, another summation order for the bands), so they
  // agree to float precision relative to each clip's loudest band: a band 70 dB below it carries
  // rounding error of the loudest one's size. Measured: within a tenth of this bound. Anything
  // structurally wrong (a frame's offset, the reflect padding, a bin's weight) is off by far more.
  const torch::Tensor peak = want.flatten(1).amax(1).view({-1, 1, 1});
  const torch::Tensor error = (got - want).abs() / (want.abs() * 1e-5 + peak * 1e-7);
  const float worst = error.max().item<float>();
  RecordProperty("worst_error_in_bounds", std::to_string(worst));
  EXPECT_LE(worst, 1.0f);
  EXPECT_GT(peak.min().item<float>(), 1.0f);  // Not trivially near zero.
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, CpuMelSpectrogramShapeTest,
    ::testing::Values(Shape{400, 200, 88200},  // The critic's 2 s clip.
                      Shape{400, 200, 22050},
                      Shape{400, 200, 401},   // Every frame reaches into the padding.
                      Shape{400, 160, 3001},  // A last group with a few lanes.
                      Shape{512, 128, 4096}, Shape{30, 7, 500},  // Radices 3 and 5.
                      Shape{28, 5, 300},                         // Radix 7.
                      Shape{2, 1, 64}),                          // A one-point transform.
    [](const ::testing::TestParamInfo<Shape>& info) { return Name(info.param); });

TEST(CpuMelSpectrogramTest, SameBitsWhateverTheThreadCount) {
  const Mfcc mfcc(MfccOptions{}, torch::kCPU);
  auto kernel =
      CpuMelSpectrogram::Create(400, 200, torch::hann_window(400), mfcc.mel_filter_bank());
  ASSERT_TRUE(kernel.has_value());
  const torch::Tensor audio = TestAudio(2, 88200);
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const torch::Tensor one_thread = kernel->Compute(audio);
  at::set_num_threads(std::max(2, threads));
  const torch::Tensor several = kernel->Compute(audio);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one_thread, several));
}

TEST(CpuMelSpectrogramTest, TakesOnlyWhatItCanCompute) {
  const Mfcc mfcc(MfccOptions{}, torch::kCPU);
  auto kernel =
      CpuMelSpectrogram::Create(400, 200, torch::hann_window(400), mfcc.mel_filter_bank());
  ASSERT_TRUE(kernel.has_value());
  EXPECT_TRUE(kernel->Accepts(torch::zeros({1, 201})));
  EXPECT_FALSE(kernel->Accepts(torch::zeros({1, 200})));  // Reflect padding needs > 200 frames.
  EXPECT_FALSE(kernel->Accepts(torch::zeros({1, 1000}, torch::kFloat64)));
  EXPECT_FALSE(kernel->Accepts(torch::zeros({1000})));
  EXPECT_FALSE(kernel->Accepts(torch::zeros({1, 1000}).requires_grad_()));
}

TEST(CpuMelSpectrogramTest, NoPlanForOddOrUnfactorableSizes) {
  const auto bank_for = [](int n_fft) { return torch::ones({n_fft / 2 + 1, 8}); };
  EXPECT_FALSE(
      CpuMelSpectrogram::Create(401, 200, torch::hann_window(401), bank_for(401)).has_value());
  // 22 / 2 = 11: no radix for it.
  EXPECT_FALSE(CpuMelSpectrogram::Create(22, 5, torch::hann_window(22), bank_for(22)).has_value());
  // A window or bank of the wrong size.
  EXPECT_FALSE(
      CpuMelSpectrogram::Create(400, 200, torch::hann_window(200), bank_for(400)).has_value());
  EXPECT_FALSE(
      CpuMelSpectrogram::Create(400, 200, torch::hann_window(400), bank_for(200)).has_value());
  EXPECT_TRUE(
      CpuMelSpectrogram::Create(400, 200, torch::hann_window(400), bank_for(400)).has_value());
}

TEST(CpuMelSpectrogramTest, MfccGivesTheSameFeaturesWithOrWithoutIt) {
  MfccOptions without;
  without.cpu_kernel = false;
  const Mfcc fast(MfccOptions{}, torch::kCPU), plain(without, torch::kCPU);
  const torch::Tensor audio = TestAudio(2, 88200);
  const torch::Tensor difference = (fast.Compute(audio) - plain.Compute(audio)).abs();
  // The bound of the torchaudio fixture test (mfcc_test.cc): cepstra of magnitude up to ~500.
  EXPECT_LT(difference.max().item<float>(), 2e-2f);
}

// A critic trained on a GPU may be scored by a CPU worker and the other way round: the GPU's
// features (LibTorch's cuFFT path) and the CPU's (this kernel) must agree.
TEST(CpuMelSpectrogramTest, CpuFeaturesMatchTheGpusFeatures) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const Mfcc on_cpu(MfccOptions{}, torch::kCPU), on_gpu(MfccOptions{}, torch::kCUDA);
  const torch::Tensor audio = TestAudio(4, 88200);
  const torch::Tensor difference =
      (on_cpu.Compute(audio) - on_gpu.Compute(audio.to(torch::kCUDA)).cpu()).abs();
  RecordProperty("max_abs_error", std::to_string(difference.max().item<float>()));
  EXPECT_LT(difference.max().item<float>(), 2e-2f);
}

}  // namespace
}  // namespace dd::critic
