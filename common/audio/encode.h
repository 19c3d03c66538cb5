// Encoding mono float audio to complete files in memory through libsndfile's virtual I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace dd {

enum class AudioEncoding {
  kWav16,      // RIFF WAVE, 16-bit PCM.
  kFlac16,     // FLAC, 16-bit.
  kOggVorbis,  // Ogg Vorbis (lossy), quality 0.6.
};

std::string_view MimeType(AudioEncoding encoding);

// 16-bit formats take round(x * 32768) (FloatToPcm16): samples beyond [-1, 1] are clipped rather
// than wrapped.
absl::StatusOr<std::string> EncodeAudio(absl::Span<const float> mono, int sample_rate,
                                        AudioEncoding encoding);

// The same file from samples already in 16-bit PCM (e.g. Renderer::RenderPcm16Into's): for
// mono == FloatToPcm16(x), the bytes EncodeAudio(x) gives. WAV and FLAC only; Ogg Vorbis is
// INVALID_ARGUMENT (it encodes float).
absl::StatusOr<std::string> EncodePcm16(absl::Span<const int16_t> mono, int sample_rate,
                                        AudioEncoding encoding);

}  // namespace dd
