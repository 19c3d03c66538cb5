#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/audio/audio_constants.h"
#include "common/audio/cpu_features.h"
#include "common/audio/decode.h"
#include "common/audio/encode.h"
#include "common/audio/pcm16.h"
#include "common/audio/resample.h"
#include "tests/support/test_support.h"

namespace dd {
namespace {

std::vector<float> Sine(int frames, double hz, int rate, float amplitude = 0.5f) {
  std::vector<float> out(static_cast<size_t>(frames));
  for (int i = 0; i < frames; ++i)
    out[i] = amplitude * static_cast<float>(std::sin(2 * M_PI * hz * i / rate));
  return out;
}

// What a 16-bit file holds for `audio`, read back as floats.
std::vector<float> As16Bit(const std::vector<float>& audio) {
  std::vector<int16_t> pcm(audio.size());
  FloatToPcm16(audio.data(), pcm.data(), static_cast<int64_t>(audio.size()));
  std::vector<float> out(audio.size());
  for (size_t i = 0; i < audio.size(); ++i)
    out[i] = static_cast<float>(pcm[i]) / 32768.0f;
  return out;
}

int CountRisingZeroCrossings(const std::vector<float>& x) {
  int count = 0;
  for (size_t i = 1; i < x.size(); ++i)
    count += (x[i - 1] < 0.0f && x[i] >= 0.0f) ? 1 : 0;
  return count;
}

TEST(CodecTest, WavRoundTripIs16BitExact) {
  const std::vector<float> audio = Sine(4410, 440.0, kSampleRate);
  absl::StatusOr<std::string> wav = EncodeAudio(audio, kSampleRate, AudioEncoding::kWav16);
  ASSERT_TRUE(wav.ok()) << wav.status();
  EXPECT_EQ(wav->substr(0, 4), "RIFF");
  EXPECT_EQ(wav->substr(8, 4), "WAVE");
  EXPECT_EQ(wav->size(), 44u + 2u * audio.size()) << "canonical 44-byte header, 16-bit samples";
  absl::StatusOr<DecodedAudio> decoded = DecodeAudioBytes(*wav, 1 << 20);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->format, "WAV PCM_16");
  EXPECT_EQ(decoded->sample_rate, kSampleRate);
  ASSERT_EQ(decoded->mono.size(), audio.size());
  const std::vector<float> expected = As16Bit(audio);
  for (size_t i = 0; i < audio.size(); ++i)
    ASSERT_EQ(decoded->mono[i], expected[i]) << i;
}

TEST(CodecTest, FlacRoundTripIsLosslessAt16Bits) {
  const std::vector<float> audio = Sine(8000, 1000.0, kSampleRate);
  absl::StatusOr<std::string> flac = EncodeAudio(audio, kSampleRate, AudioEncoding::kFlac16);
  ASSERT_TRUE(flac.ok()) << flac.status();
  EXPECT_EQ(flac->substr(0, 4), "fLaC");
  absl::StatusOr<DecodedAudio> decoded = DecodeAudioBytes(*flac, 1 << 20);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->format, "FLAC PCM_16");
  ASSERT_EQ(decoded->mono.size(), audio.size());
  const std::vector<float> expected = As16Bit(audio);
  for (size_t i = 0; i < audio.size(); ++i)
    ASSERT_EQ(decoded->mono[i], expected[i]) << i;
}

// FloatToPcm16 and each of its versions this CPU can run.
std::vector<std::pair<std::string, void (*)(const float*, int16_t*, int64_t)>> Pcm16Converters() {
  std::vector<std::pair<std::string, void (*)(const float*, int16_t*, int64_t)>> converters = {
      {"FloatToPcm16", FloatToPcm16}, {"scalar", internal::FloatToPcm16Scalar}};
  if (CpuHasAvx2()) converters.emplace_back("avx2", internal::FloatToPcm16Avx2);
  if (CpuHasAvx512()) converters.emplace_back("avx512", internal::FloatToPcm16Avx512);
  return converters;
}

// Round half to even at 1/32768 per step, clamped to the 16-bit range, across the vector loop
// and its remainder.
TEST(Pcm16Test, RoundsToNearestAndClamps) {
  const float step = 1.0f / 32768.0f;
  const std::vector<float> in = {
      0.0f,        1.0f,        -1.0f,           0.5f,    0.5f * step, 1.5f * step,   -1.5f * step,
      2.5f * step, 0.4f * step, 32766.6f * step, 2.0f,    -3.0f,       std::nanf(""), -0.0f,
      0.25f,       -0.75f,      0.999f,          -0.999f, 7.0f * step};
  const std::vector<int16_t> expected = {0,    32767,  -32768, 16384,  0,      2,     -2,
                                         2,    0,      32767,  32767,  -32768, 32767, 0,
                                         8192, -24576, 32735,  -32735, 7};
  for (const auto& [name, convert] : Pcm16Converters()) {
    std::vector<int16_t> out(in.size());
    convert(in.data(), out.data(), static_cast<int64_t>(in.size()));
    EXPECT_EQ(out, expected) << name;
  }
}

// Every version against the definition, sample by sample, over many values: random ones, exact
// ties (k + 0.5 steps) of both parities and signs, values beyond full scale and beyond the range
// of a 32-bit integer.
TEST(Pcm16Test, EveryVersionEqualsTheDefinitionEverywhere) {
  std::mt19937 random(5);
  std::uniform_real_distribution<float> value(-1.2f, 1.2f);
  std::uniform_int_distribution<int> step(-32768, 32767);
  std::vector<float> in(4099);
  for (size_t i = 0; i < in.size(); ++i) {
    in[i] = i % 3 == 0 ? (static_cast<float>(step(random)) + 0.5f) / 32768.0f : value(random);
  }
  in[100] = 1e30f;
  in[101] = -1e30f;
  int ties = 0;
  for (float x : in) {
    const double scaled = static_cast<double>(x) * 32768.0;
    ties += scaled == std::floor(scaled) + 0.5 ? 1 : 0;
  }
  EXPECT_GT(ties, 1000);
  for (const auto& [name, convert] : Pcm16Converters()) {
    std::vector<int16_t> out(in.size());
    convert(in.data(), out.data(), static_cast<int64_t>(in.size()));
    for (size_t i = 0; i < in.size(); ++i) {
      const double scaled = std::clamp(static_cast<double>(in[i]) * 32768.0, -32768.0, 32767.0);
      ASSERT_EQ(out[i], static_cast<int16_t>(std::nearbyint(scaled))) << name << " sample " << i;
    }
  }
}

TEST(CodecTest, OggVorbisKeepsLengthAndPitch) {
  const std::vector<float> audio = Sine(44100, 440.0, kSampleRate);
  absl::StatusOr<std::string> ogg = EncodeAudio(audio, kSampleRate, AudioEncoding::kOggVorbis);
  ASSERT_TRUE(ogg.ok()) << ogg.status();
  EXPECT_EQ(ogg->substr(0, 4), "OggS");
  EXPECT_LT(ogg->size(), audio.size() * 2 / 4) << "lossy: far smaller than 16-bit PCM";
  absl::StatusOr<DecodedAudio> decoded = DecodeAudioBytes(*ogg, 1 << 20);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->format, "OGG VORBIS");
  EXPECT_NEAR(static_cast<double>(decoded->mono.size()), 44100.0, 64.0);
  EXPECT_NEAR(CountRisingZeroCrossings(decoded->mono), 440, 2);
}

TEST(CodecTest, EncodingClipsInsteadOfWrapping) {
  absl::StatusOr<std::string> wav = EncodeAudio({2.0f, -3.0f}, kSampleRate, AudioEncoding::kWav16);
  ASSERT_TRUE(wav.ok());
  absl::StatusOr<DecodedAudio> decoded = DecodeAudioBytes(*wav, 16);
  ASSERT_TRUE(decoded.ok());
  EXPECT_GT(decoded->mono[0], 0.99f);
  EXPECT_LT(decoded->mono[1], -0.99f);
}

// Encoding 16-bit samples gives the bytes of encoding the float audio they came from.
TEST(CodecTest, Pcm16EncodingEqualsEncodingTheFloatAudio) {
  std::vector<float> audio = Sine(10000, 440.0, kSampleRate);
  audio[17] = 1.7f;  // Clipped the same way on both paths.
  std::vector<int16_t> pcm(audio.size());
  FloatToPcm16(audio.data(), pcm.data(), static_cast<int64_t>(audio.size()));
  for (AudioEncoding encoding : {AudioEncoding::kWav16, AudioEncoding::kFlac16}) {
    absl::StatusOr<std::string> from_float = EncodeAudio(audio, kSampleRate, encoding);
    absl::StatusOr<std::string> from_pcm16 = EncodePcm16(pcm, kSampleRate, encoding);
    ASSERT_TRUE(from_float.ok()) << from_float.status();
    ASSERT_TRUE(from_pcm16.ok()) << from_pcm16.status();
    EXPECT_EQ(*from_pcm16, *from_float) << MimeType(encoding);
    absl::StatusOr<std::string> empty = EncodePcm16({}, kSampleRate, encoding);
    ASSERT_TRUE(empty.ok()) << empty.status();
    EXPECT_EQ(*empty, *EncodeAudio({}, kSampleRate, encoding));
  }
  const absl::Status ogg = EncodePcm16(pcm, kSampleRate, AudioEncoding::kOggVorbis).status();
  EXPECT_EQ(ogg.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ogg.message().find("Ogg"), std::string::npos);
  EXPECT_EQ(EncodePcm16(pcm, 0, AudioEncoding::kWav16).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CodecTest, StereoIsMixedToMono) {
  testing::TempDir dir;
  std::vector<float> interleaved;
  for (int i = 0; i < 100; ++i) {
    interleaved.push_back(0.5f);
    interleaved.push_back(-0.1f);
  }
  testing::WriteFloatWav(dir.path() / "stereo.wav", interleaved, 2, 48000);
  absl::StatusOr<DecodedAudio> decoded = DecodeAudioFile(dir.path() / "stereo.wav", 1000);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->channels, 2);
  EXPECT_EQ(decoded->sample_rate, 48000);
  EXPECT_EQ(decoded->format, "WAV FLOAT");
  ASSERT_EQ(decoded->mono.size(), 100u);
  for (float x : decoded->mono)
    EXPECT_FLOAT_EQ(x, 0.2f);
}

TEST(CodecTest, BrokenInputIsAnErrorNotACrash) {
  EXPECT_FALSE(DecodeAudioBytes("", 100).ok());
  EXPECT_FALSE(DecodeAudioBytes("this is not audio at all, just some text", 100).ok());
  absl::StatusOr<std::string> wav =
      EncodeAudio(Sine(20000, 440, kSampleRate), kSampleRate, AudioEncoding::kWav16);
  ASSERT_TRUE(wav.ok());
  const absl::Status truncated =
      DecodeAudioBytes(wav->substr(0, wav->size() / 2), 1 << 20).status();
  EXPECT_FALSE(truncated.ok());
  EXPECT_NE(truncated.message().find("truncated"), std::string::npos) << truncated;
  EXPECT_FALSE(DecodeAudioBytes(wav->substr(0, 30), 1 << 20).ok()) << "header cut short";
  const absl::Status too_long = DecodeAudioBytes(*wav, 1000).status();
  EXPECT_NE(too_long.message().find("too long"), std::string::npos) << too_long;
}

TEST(ResampleTest, ConvertsRateAndKeepsPitchAndLevel) {
  const std::vector<float> input = Sine(48000, 1000.0, 48000);
  absl::StatusOr<std::vector<float>> output = Resample(input, 48000, kSampleRate);
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_NEAR(static_cast<double>(output->size()), 44100.0, 2.0);
  EXPECT_NEAR(CountRisingZeroCrossings(*output), 1000, 2);
  float peak = 0.0f;
  for (size_t i = 1000; i + 1000 < output->size(); ++i)
    peak = std::max(peak, std::fabs((*output)[i]));
  EXPECT_NEAR(peak, 0.5f, 0.01f);
  EXPECT_FALSE(Resample(input, 0, kSampleRate).ok());
  absl::StatusOr<std::vector<float>> same = Resample(input, 48000, 48000);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, input);
}

}  // namespace
}  // namespace dd
