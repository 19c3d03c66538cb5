#include "services/render/render_service.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/audio/audio_constants.h"
#include "common/audio/encode.h"
#include "common/log/log.h"
#include "common/render/renderer.h"
#include "common/text/exact_number.h"
#include "services/shared/call_admission.h"
#include "services/shared/proto_convert.h"
#include "services/shared/status_mapping.h"

namespace dd {
namespace v1 = deepdrummer::v1;
namespace {

constexpr uint32_t kDefaultPageSize = 100;
constexpr uint32_t kMaxPageSize = 1000;
constexpr absl::string_view kPageTokenPrefix = "after:";

void AddRejected(const SampleLibrary& library,
                 google::protobuf::RepeatedPtrField<v1::RejectedFile>* out) {
  for (const RejectedFile& rejected : library.rejected()) {
    v1::RejectedFile* file = out->Add();
    file->set_path(rejected.path);
    file->set_reason(rejected.reason);
  }
}

}  // namespace

absl::Status ValidateRenderServiceOptions(const RenderServiceOptions& options) {
  if (!(options.max_render_seconds > 0.0 && options.max_render_seconds <= 600.0)) {
    return absl::InvalidArgumentError(absl::StrCat("max_render_seconds must be in (0, 600], got ",
                                                   ExactNumber(options.max_render_seconds)));
  }
  return absl::OkStatus();
}

grpc::Status RenderService::Render(grpc::ServerContext* context, const v1::RenderRequest* request,
                                   v1::RenderResponse* response) {
  absl::StatusOr<Pattern> pattern = PatternFromProto(request->loop());
  if (!pattern.ok()) return ToGrpcStatus(pattern.status());
  const absl::StatusOr<AudioEncoding> encoding = EncodingFromProto(request->format(), "format");
  if (!encoding.ok()) return ToGrpcStatus(encoding.status());
  RenderOptions options;
  if (request->repeats() > 16) {
    // Checked here, before narrowing to int, so the message quotes what the caller sent.
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("repeats must be in [1, 16], got ", request->repeats())));
  }
  if (request->repeats() != 0) options.repeats = static_cast<int>(request->repeats());
  if (request->has_tail_seconds()) options.tail_seconds = request->tail_seconds();
  if (absl::Status s = ValidateRenderOptions(options); !s.ok()) return ToGrpcStatus(s);
  const int64_t loop_frames =
      LoopFrames(pattern->steps(), pattern->bpm(), options.repeats, options.tail_seconds);
  const double seconds = static_cast<double>(loop_frames) / kSampleRate;
  if (seconds > options_.max_render_seconds) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrFormat("the render would last %.1f s, the limit is %.1f s (fewer repeats or "
                        "steps, or a faster tempo)",
                        seconds, options_.max_render_seconds)));
  }
  response->set_format(request->format() == v1::AUDIO_FORMAT_UNSPECIFIED ? v1::AUDIO_FORMAT_WAV
                                                                         : request->format());
  response->set_mime_type(std::string(MimeType(*encoding)));
  response->set_sample_rate(kSampleRate);
  if (request->validate_only()) {
    const Renderer renderer(samples_.Get());
    if (absl::Status s = renderer.Check(*pattern, options); !s.ok()) return ToGrpcStatus(s);
    response->set_frames(static_cast<uint64_t>(loop_frames));
    response->set_duration_seconds(seconds);
    return grpc::Status::OK;
  }

  auto admitted = Admit(admission_, *context);
  if (!admitted.ok()) return ToGrpcStatus(admitted.status());
  const Renderer renderer(samples_.Get(), helpers_);
  absl::StatusOr<std::string> encoded;
  size_t frames = 0;
  int64_t clipped_samples = 0;
  if (*encoding == AudioEncoding::kOggVorbis) {
    RenderedAudio audio;
    if (absl::Status s = renderer.RenderInto(*pattern, options, audio); !s.ok()) {
      return ToGrpcStatus(s);
    }
    encoded = EncodeAudio(audio.pcm, kSampleRate, *encoding);
    frames = audio.pcm.size();
    clipped_samples = audio.clipped_samples;
  } else {
    // WAV and FLAC hold 16-bit samples: render them directly (the same samples as converting
    // the float render, in less time).
    RenderedPcm16 audio;
    if (absl::Status s = renderer.RenderPcm16Into(*pattern, options, audio); !s.ok()) {
      return ToGrpcStatus(s);
    }
    encoded = EncodePcm16(audio.pcm, kSampleRate, *encoding);
    frames = audio.pcm.size();
    clipped_samples = audio.clipped_samples;
  }
  if (!encoded.ok()) return ToGrpcStatus(encoded.status());

  response->set_audio(*std::move(encoded));
  response->set_frames(frames);
  response->set_duration_seconds(static_cast<double>(frames) / kSampleRate);
  response->set_clipped_samples(static_cast<uint64_t>(clipped_samples));
  return grpc::Status::OK;
}

grpc::Status RenderService::RenderSteadyBar(grpc::ServerContext* context,
                                            const v1::RenderSteadyBarRequest* request,
                                            v1::RenderSteadyBarResponse* response) {
  absl::StatusOr<Pattern> pattern = PatternFromProto(request->loop());
  if (!pattern.ok()) return ToGrpcStatus(pattern.status());
  auto admitted = Admit(admission_, *context);
  if (!admitted.ok()) return ToGrpcStatus(admitted.status());
  const Renderer renderer(samples_.Get(), helpers_);
  absl::StatusOr<RenderedAudio> audio = renderer.RenderSteadyBar(*pattern);
  if (!audio.ok()) return ToGrpcStatus(audio.status());
  v1::PcmAudio* pcm = response->mutable_audio();
  pcm->set_sample_rate(kSampleRate);
  static_assert(sizeof(float) == 4, "float must be IEEE binary32");
  // x86-64 and AArch64 are little-endian, so the float array is already the wire layout.
  pcm->set_samples_f32le(reinterpret_cast<const char*>(audio->pcm.data()),
                         audio->pcm.size() * sizeof(float));
  response->set_clipped_samples(static_cast<uint64_t>(audio->clipped_samples));
  return grpc::Status::OK;
}

grpc::Status RenderService::ListSamples(grpc::ServerContext*, const v1::ListSamplesRequest* request,
                                        v1::ListSamplesResponse* response) {
  const uint32_t page_size = request->page_size() == 0 ? kDefaultPageSize : request->page_size();
  if (page_size > kMaxPageSize) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("page_size must be at most ", kMaxPageSize, ", got ", page_size)));
  }
  absl::string_view after;
  if (!request->page_token().empty()) {
    after = request->page_token();
    if (!absl::ConsumePrefix(&after, kPageTokenPrefix)) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          "page_token is not one returned by ListSamples (pass next_page_token unchanged)"));
    }
  }
  const std::shared_ptr<const SampleLibrary> library = samples_.Get();
  const std::vector<Sample>& samples = library->samples();
  uint32_t total = 0;
  for (const Sample& sample : samples)
    total += absl::StartsWith(sample.id, request->prefix()) ? 1 : 0;
  response->set_total_size(total);
  // Samples are sorted by id, so "after" is a position that survives reloads.
  auto it = request->page_token().empty()
                ? samples.begin()
                : std::upper_bound(samples.begin(), samples.end(), after,
                                   [](absl::string_view id, const Sample& s) { return id < s.id; });
  for (; it != samples.end(); ++it) {
    if (!absl::StartsWith(it->id, request->prefix())) continue;
    if (static_cast<uint32_t>(response->samples_size()) == page_size) {
      response->set_next_page_token(
          absl::StrCat(kPageTokenPrefix, response->samples(response->samples_size() - 1).id()));
      break;
    }
    v1::SampleInfo* info = response->add_samples();
    info->set_id(it->id);
    info->set_duration_seconds(it->duration_seconds());
    info->set_original_sample_rate(static_cast<uint32_t>(it->original_sample_rate));
    info->set_original_channels(static_cast<uint32_t>(it->original_channels));
    info->set_format(it->format);
    info->set_frames(it->pcm.size());
  }
  if (request->page_token().empty()) AddRejected(*library, response->mutable_rejected());
  return grpc::Status::OK;
}

grpc::Status RenderService::ReloadSamples(grpc::ServerContext*, const v1::ReloadSamplesRequest*,
                                          v1::ReloadSamplesResponse* response) {
  absl::StatusOr<std::shared_ptr<const SampleLibrary>> library = samples_.Reload();
  if (!library.ok()) return ToGrpcStatus(library.status());
  response->set_loaded(static_cast<uint32_t>((*library)->samples().size()));
  AddRejected(**library, response->mutable_rejected());
  return grpc::Status::OK;
}

}  // namespace dd
