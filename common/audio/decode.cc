#include "common/audio/decode.h"

#include <sndfile.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/audio/memory_file.h"

namespace dd {
namespace {

struct SndfileCloser {
  void operator()(SNDFILE* file) const { sf_close(file); }
};
using SndfileHandle = std::unique_ptr<SNDFILE, SndfileCloser>;

std::string MajorName(int format) {
  switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV:
      return "WAV";
    case SF_FORMAT_WAVEX:
      return "WAVEX";
    case SF_FORMAT_AIFF:
      return "AIFF";
    case SF_FORMAT_FLAC:
      return "FLAC";
    case SF_FORMAT_OGG:
      return "OGG";
    case SF_FORMAT_W64:
      return "W64";
    case SF_FORMAT_RF64:
      return "RF64";
    case SF_FORMAT_CAF:
      return "CAF";
    case SF_FORMAT_AU:
      return "AU";
    default:
      return "OTHER";
  }
}

std::string SubtypeName(int format) {
  switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8:
      return "PCM_S8";
    case SF_FORMAT_PCM_U8:
      return "PCM_U8";
    case SF_FORMAT_PCM_16:
      return "PCM_16";
    case SF_FORMAT_PCM_24:
      return "PCM_24";
    case SF_FORMAT_PCM_32:
      return "PCM_32";
    case SF_FORMAT_FLOAT:
      return "FLOAT";
    case SF_FORMAT_DOUBLE:
      return "DOUBLE";
    case SF_FORMAT_VORBIS:
      return "VORBIS";
    case SF_FORMAT_OPUS:
      return "OPUS";
    case SF_FORMAT_ULAW:
      return "ULAW";
    case SF_FORMAT_ALAW:
      return "ALAW";
    default:
      return "OTHER";
  }
}

// libsndfile opens a WAV/AIFF whose data chunk was cut short and silently reads what is there,
// leaving "data : <declared> (should be <actual>)" in its log. A partly copied sample is a broken
// sample, so we look for that note.
bool LooksTruncated(SNDFILE* file) {
  char log[8192] = {};
  sf_command(file, SFC_GET_LOG_INFO, log, sizeof(log));
  for (absl::string_view line : absl::StrSplit(absl::string_view(log), '\n')) {
    line = absl::StripLeadingAsciiWhitespace(line);
    if ((absl::StartsWith(line, "data") || absl::StartsWith(line, "SSND")) &&
        absl::StrContains(line, "should be")) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<DecodedAudio> ReadAll(SNDFILE* file, const SF_INFO& info, int64_t max_frames) {
  if (info.channels <= 0 || info.samplerate <= 0) {
    return absl::InvalidArgumentError("not audio: no channels or sample rate in the header");
  }
  if (info.frames <= 0) return absl::InvalidArgumentError("contains no audio frames");
  if (info.frames > max_frames) {
    return absl::InvalidArgumentError(
        absl::StrCat("too long: ", info.frames, " frames, the limit is ", max_frames));
  }
  if (LooksTruncated(file)) {
    return absl::DataLossError("truncated: the header declares more audio than the file holds");
  }
  DecodedAudio audio;
  audio.sample_rate = info.samplerate;
  audio.channels = info.channels;
  audio.format = absl::StrCat(MajorName(info.format), " ", SubtypeName(info.format));
  std::vector<float> interleaved(static_cast<size_t>(info.frames) *
                                 static_cast<size_t>(info.channels));
  const sf_count_t read = sf_readf_float(file, interleaved.data(), info.frames);
  if (read != info.frames) {
    return absl::DataLossError(absl::StrCat("truncated: read ", read, " of ", info.frames,
                                            " frames (", sf_strerror(file), ")"));
  }
  audio.mono.resize(static_cast<size_t>(info.frames));
  const float scale = 1.0f / static_cast<float>(info.channels);
  for (size_t frame = 0; frame < audio.mono.size(); ++frame) {
    float sum = 0.0f;
    for (int c = 0; c < info.channels; ++c)
      sum += interleaved[frame * info.channels + c];
    const float value = sum * scale;
    if (!std::isfinite(value)) {
      return absl::InvalidArgumentError(absl::StrCat("holds a non-finite sample at frame ", frame));
    }
    audio.mono[frame] = value;
  }
  return audio;
}

}  // namespace

absl::StatusOr<DecodedAudio> DecodeAudioFile(const std::filesystem::path& path,
                                             int64_t max_frames) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) return absl::NotFoundError(absl::StrCat("cannot stat: ", error.message()));
  if (size == 0) return absl::InvalidArgumentError("empty file");
  SF_INFO info{};
  SndfileHandle file(sf_open(path.c_str(), SFM_READ, &info));
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a readable audio file: ", sf_strerror(nullptr)));
  }
  return ReadAll(file.get(), info, max_frames);
}

absl::StatusOr<DecodedAudio> DecodeAudioBytes(std::string_view bytes, int64_t max_frames) {
  if (bytes.empty()) return absl::InvalidArgumentError("empty file");
  internal::MemoryFile memory{std::string(bytes), 0};
  SF_INFO info{};
  SndfileHandle file(sf_open_virtual(&internal::MemoryFileIo(), SFM_READ, &info, &memory));
  if (!file) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a readable audio file: ", sf_strerror(nullptr)));
  }
  return ReadAll(file.get(), info, max_frames);
}

}  // namespace dd
