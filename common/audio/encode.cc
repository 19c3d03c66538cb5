#include "common/audio/encode.h"

#include <sndfile.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "common/audio/memory_file.h"
#include "common/audio/pcm16.h"

namespace dd {
namespace {

// Writes `mono` as 16-bit samples converted by FloatToPcm16, a block at a time; returns the frames
// written.
sf_count_t WritePcm16(SNDFILE* file, absl::Span<const float> mono) {
  constexpr size_t kBlockFrames = 8192;
  int16_t block[kBlockFrames];
  sf_count_t written = 0;
  for (size_t offset = 0; offset < mono.size(); offset += kBlockFrames) {
    const size_t count = std::min(kBlockFrames, mono.size() - offset);
    FloatToPcm16(mono.data() + offset, block, static_cast<int64_t>(count));
    const sf_count_t done = sf_writef_short(file, block, static_cast<sf_count_t>(count));
    written += done;
    if (done != static_cast<sf_count_t>(count)) break;
  }
  return written;
}

// Opens an in-memory encoder for `encoding`, lets `write` put `frames` frames into it, and
// returns the finished file.
template <typename WriteFrames>
absl::StatusOr<std::string> Encode(int sample_rate, AudioEncoding encoding, size_t frames,
                                   WriteFrames write) {
  if (sample_rate <= 0) return absl::InvalidArgumentError("sample rate must be positive");
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = 1;
  switch (encoding) {
    case AudioEncoding::kWav16:
      info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
      break;
    case AudioEncoding::kFlac16:
      info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
      break;
    case AudioEncoding::kOggVorbis:
      info.format = SF_FORMAT_OGG | SF_FORMAT_VORBIS;
      break;
  }
  internal::MemoryFile memory;
  memory.bytes.reserve(frames * 2 + 64);
  SNDFILE* file = sf_open_virtual(&internal::MemoryFileIo(), SFM_WRITE, &info, &memory);
  if (file == nullptr) {
    return absl::InternalError(absl::StrCat("cannot open encoder: ", sf_strerror(nullptr)));
  }
  sf_command(file, SFC_SET_CLIPPING, nullptr, SF_TRUE);
  if (encoding == AudioEncoding::kOggVorbis) {
    double quality = 0.6;
    sf_command(file, SFC_SET_VBR_ENCODING_QUALITY, &quality, sizeof(quality));
  }
  const sf_count_t written = frames == 0 ? 0 : write(file);
  const std::string write_error = sf_strerror(file);
  const int close_error = sf_close(file);
  if (written != static_cast<sf_count_t>(frames)) {
    return absl::InternalError(
        absl::StrCat("encoder wrote ", written, " of ", frames, " frames: ", write_error));
  }
  if (close_error != 0) {
    return absl::InternalError(
        absl::StrCat("encoder failed to finish: ", sf_error_number(close_error)));
  }
  return std::move(memory.bytes);
}

}  // namespace

std::string_view MimeType(AudioEncoding encoding) {
  switch (encoding) {
    case AudioEncoding::kWav16:
      return "audio/wav";
    case AudioEncoding::kFlac16:
      return "audio/flac";
    case AudioEncoding::kOggVorbis:
      return "audio/ogg";
  }
  return "application/octet-stream";
}

absl::StatusOr<std::string> EncodeAudio(absl::Span<const float> mono, int sample_rate,
                                        AudioEncoding encoding) {
  return Encode(sample_rate, encoding, mono.size(), [&](SNDFILE* file) {
    return encoding == AudioEncoding::kOggVorbis
               ? sf_writef_float(file, mono.data(), static_cast<sf_count_t>(mono.size()))
               : WritePcm16(file, mono);
  });
}

absl::StatusOr<std::string> EncodePcm16(absl::Span<const int16_t> mono, int sample_rate,
                                        AudioEncoding encoding) {
  if (encoding == AudioEncoding::kOggVorbis) {
    return absl::InvalidArgumentError(
        "Ogg Vorbis is encoded from float audio (EncodeAudio), not from 16-bit PCM");
  }
  return Encode(sample_rate, encoding, mono.size(), [&](SNDFILE* file) {
    return sf_writef_short(file, mono.data(), static_cast<sf_count_t>(mono.size()));
  });
}

}  // namespace dd
