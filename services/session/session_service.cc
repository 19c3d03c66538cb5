#include "services/session/session_service.h"

#include <grpcpp/client_context.h>

#include <algorithm>
#include <random>

#include <google/protobuf/util/json_util.h>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/audio/audio_constants.h"
#include "common/log/log.h"
#include "common/pattern/timing.h"
#include "common/storage/text_field.h"
#include "services/session/session_messages.h"
#include "services/shared/call_admission.h"
#include "services/shared/proto_convert.h"
#include "services/shared/request_id.h"
#include "services/shared/status_mapping.h"

namespace dd {
namespace v1 = deepdrummer::v1;
namespace {

constexpr uint32_t kDefaultPageSize = 50;
constexpr uint32_t kMaxPageSize = 500;
// How a listener hears a loop, as in the paper: the bar four times, then a second for the last
// hits to ring out. Set on every render, so that NextLoop can state the audio's length without
// rendering it when the audio goes by reference.
constexpr int kListenedRepeats = 4;
constexpr double kListenedTailSeconds = 1.0;

// A render request for a loop as a listener hears it (the loop itself still to set).
v1::RenderRequest ListenedRender(v1::AudioFormat format) {
  v1::RenderRequest request;
  request.set_format(format);
  request.set_repeats(kListenedRepeats);
  request.set_tail_seconds(kListenedTailSeconds);
  return request;
}

std::unique_ptr<grpc::ClientContext> CallContext(absl::Duration timeout,
                                                 const std::string& request_id) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  AttachRequestId(request_id, *context);
  return context;
}

absl::Status CheckOwner(const std::string& owner, const std::string& caller, const char* what,
                        const std::string& id) {
  if (caller.empty()) return absl::OkStatus();
  // Malformed is the caller's mistake, not another user's data; a UUID's case does not matter.
  if (absl::Status s = storage::ValidateUuid(caller, "user_id"); !s.ok()) return s;
  if (!absl::EqualsIgnoreCase(caller, owner)) {
    return absl::PermissionDeniedError(absl::StrCat(what, " ", id, " belongs to another user"));
  }
  return absl::OkStatus();
}

// gRPC would fail a reply over the limit in its transport, with a message about bytes only.
grpc::Status ExportTooLarge(int64_t limit) {
  return ToGrpcStatus(absl::ResourceExhaustedError(absl::StrCat(
      "the export with every loop's audio would exceed the ", limit >> 20,
      " MiB a reply may carry (--max_message_bytes); export without include_audio and fetch each "
      "loop's audio with StreamLoopAudio (GET /v1/loops/<loop_id>/audio over HTTP)")));
}

}  // namespace

absl::StatusOr<storage::SessionRecord> SessionService::OwnedSession(const std::string& session_id,
                                                                    const std::string& user_id) {
  auto session = repository_.GetSession(session_id);
  if (!session.ok()) return session.status();
  if (absl::Status s = CheckOwner(session->user_id, user_id, "session", session_id); !s.ok())
    return s;
  return session;
}

absl::Status SessionService::FillSession(const storage::SessionRecord& record, v1::Session* out) {
  auto counts = repository_.Counts(record.session_id);
  if (!counts.ok()) return counts.status();
  out->set_session_id(record.session_id);
  out->set_user_id(record.user_id);
  if (!out->mutable_options()->ParseFromString(record.options)) {
    return absl::DataLossError("stored session options are corrupt");
  }
  out->set_phase(PhaseOf(record, *counts));
  FillProgress(record, *counts, out->mutable_progress());
  out->set_likes(static_cast<uint32_t>(counts->likes));
  out->set_dislikes(static_cast<uint32_t>(counts->dislikes));
  TimestampToProto(record.created_at, out->mutable_created_at());
  TimestampToProto(record.updated_at, out->mutable_updated_at());
  return absl::OkStatus();
}

grpc::Status SessionService::CreateUser(grpc::ServerContext*, const v1::CreateUserRequest* request,
                                        v1::User* response) {
  absl::Status valid = storage::ValidateStoredText(request->display_name(), "display_name");
  if (valid.ok()) valid = storage::ValidateStoredText(request->request_id(), "request_id");
  if (!valid.ok()) return ToGrpcStatus(valid);
  auto user = repository_.CreateUser(request->display_name(), request->request_id());
  if (!user.ok()) return ToGrpcStatus(user.status());
  FillUser(*user, response);
  return grpc::Status::OK;
}

grpc::Status SessionService::GetUser(grpc::ServerContext*, const v1::GetUserRequest* request,
                                     v1::User* response) {
  auto user = repository_.GetUser(request->user_id());
  if (!user.ok()) return ToGrpcStatus(user.status());
  FillUser(*user, response);
  return grpc::Status::OK;
}

grpc::Status SessionService::DeleteUser(grpc::ServerContext* context,
                                        const v1::DeleteUserRequest* request,
                                        v1::DeleteUserResponse* response) {
  const std::string request_id = RequestIdOf(*context);
  uint32_t critics_deleted = 0;
  // OK when deleted or already gone.
  const auto delete_critic = [&](const std::string& critic_id) {
    v1::DeleteCriticRequest delete_request;
    delete_request.set_critic_id(critic_id);
    v1::DeleteCriticResponse deleted;
    grpc::Status status = critic_.DeleteCritic(
        CallContext(options_.critic_timeout, request_id).get(), delete_request, &deleted);
    if (status.ok()) ++critics_deleted;
    return status.error_code() == grpc::StatusCode::NOT_FOUND ? grpc::Status::OK : status;
  };
  auto critic_ids = repository_.CriticIdsOfUser(request->user_id());
  if (!critic_ids.ok()) return ToGrpcStatus(critic_ids.status());
  // Critics first: if this fails half-way the user still exists and a retry finishes the job.
  for (const std::string& critic_id : *critic_ids) {
    if (grpc::Status status = delete_critic(critic_id); !status.ok())
      return ToGrpcStatus(FromGrpcCall(status, "critic service"));
  }
  auto counts = repository_.DeleteUser(request->user_id());
  if (!counts.ok()) return ToGrpcStatus(counts.status());
  // A session started after the critics were listed took its critic along: delete that one too.
  // The user is gone, so a failure here cannot be retried through DeleteUser; it is logged.
  for (const std::string& critic_id : counts->critic_ids) {
    if (absl::c_linear_search(*critic_ids, critic_id)) continue;
    if (grpc::Status status = delete_critic(critic_id); !status.ok()) {
      log::Warning("user.critic_left", {{"user_id", request->user_id()},
                                        {"critic_id", critic_id},
                                        {"error", status.error_message()},
                                        {"request_id", request_id}});
    }
  }
  response->set_sessions_deleted(static_cast<uint32_t>(counts->sessions));
  response->set_loops_deleted(static_cast<uint32_t>(counts->loops));
  response->set_ratings_deleted(static_cast<uint32_t>(counts->ratings));
  response->set_critics_deleted(critics_deleted);
  // Who asked for an erasure, and what it removed, for the record.
  log::Info("user.deleted", {{"user_id", request->user_id()},
                             {"sessions", counts->sessions},
                             {"loops", counts->loops},
                             {"ratings", counts->ratings},
                             {"critics", critics_deleted},
                             {"request_id", request_id}});
  return grpc::Status::OK;
}

grpc::Status SessionService::StartSession(grpc::ServerContext* context,
                                          const v1::StartSessionRequest* request,
                                          v1::Session* response) {
  const std::string request_id = RequestIdOf(*context);
  if (absl::Status s = storage::ValidateStoredText(request->request_id(), "request_id"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  auto user = repository_.GetUser(request->user_id());
  if (!user.ok()) return ToGrpcStatus(user.status());
  // A retry (a client that lost the first reply) gets the session at once, without a critic
  // made for it and deleted again.
  auto earlier = repository_.FindSessionByRequest(user->user_id, request->request_id());
  if (!earlier.ok()) return ToGrpcStatus(earlier.status());
  if (earlier->has_value()) {
    if (absl::Status s = CheckRetryOptions(request->options(), (*earlier)->options,
                                           (*earlier)->session_id, request->request_id());
        !s.ok()) {
      return ToGrpcStatus(s);
    }
    coordinator_.PrepareInBackground((*earlier)->session_id, request_id);
    return ToGrpcStatus(FillSession(**earlier, response));
  }
  v1::SessionOptions options = request->options();
  std::random_device random;
  if (absl::Status s = CompleteSessionOptions(options, options_.session_limits,
                                              (static_cast<uint64_t>(random()) << 32) ^ random());
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s = coordinator_.CheckSampling(options, request_id); !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s = CheckListening(options, request_id); !s.ok()) return ToGrpcStatus(s);

  v1::CreateCriticRequest create;
  *create.mutable_config() = options.critic();
  create.set_owner(absl::StrCat("user:", user->user_id));
  v1::CreateCriticResponse created;
  const grpc::Status creation = critic_.CreateCritic(
      CallContext(options_.critic_timeout, request_id).get(), create, &created);
  if (creation.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    // The critic service checks the configuration, which the caller sent as options.critic.
    return ToGrpcStatus(
        absl::InvalidArgumentError(absl::StrCat("options.critic.", creation.error_message())));
  }
  if (absl::Status s = FromGrpcCall(creation, "critic service"); !s.ok()) return ToGrpcStatus(s);
  *options.mutable_critic() = created.config();  // Every hyper-parameter, as used.
  storage::SessionRecord record;
  record.user_id = user->user_id;
  record.options = options.SerializeAsString();
  record.seed = options.seed();
  record.critic_id = created.critic_id();
  record.phase1_total = static_cast<int>(options.phase1_loops());
  record.phase2_per_critic = static_cast<int>(options.phase2_loops_per_critic());
  record.phase1_critic_lag = static_cast<int>(options.phase1_critic_lag());
  auto stored = repository_.CreateSession(record, request->request_id());
  if (!stored.ok() || !stored->second) {
    // Not stored, or a retry that found the first attempt's session: this critic is not needed.
    v1::DeleteCriticRequest cleanup;
    cleanup.set_critic_id(created.critic_id());
    v1::DeleteCriticResponse ignored;
    (void)critic_.DeleteCritic(CallContext(options_.critic_timeout, request_id).get(), cleanup,
                               &ignored);
  }
  if (!stored.ok()) return ToGrpcStatus(stored.status());
  if (!stored->second) {  // A concurrent request under the same key stored its session first.
    if (absl::Status s = CheckRetryOptions(request->options(), stored->first.options,
                                           stored->first.session_id, request->request_id());
        !s.ok()) {
      return ToGrpcStatus(s);
    }
  } else {
    log::Info("session.started", {{"session_id", stored->first.session_id},
                                  {"user_id", stored->first.user_id},
                                  {"critic_id", stored->first.critic_id},
                                  {"phase1_loops", stored->first.phase1_total},
                                  {"phase2_loops_per_critic", stored->first.phase2_per_critic},
                                  {"request_id", request_id}});
  }
  // The first loop, while we reply.
  coordinator_.PrepareInBackground(stored->first.session_id, request_id);
  return ToGrpcStatus(FillSession(stored->first, response));
}

grpc::Status SessionService::GetSession(grpc::ServerContext*, const v1::GetSessionRequest* request,
                                        v1::Session* response) {
  auto session = OwnedSession(request->session_id(), request->user_id());
  if (!session.ok()) return ToGrpcStatus(session.status());
  return ToGrpcStatus(FillSession(*session, response));
}

grpc::Status SessionService::ListSessions(grpc::ServerContext*,
                                          const v1::ListSessionsRequest* request,
                                          v1::ListSessionsResponse* response) {
  const uint32_t page_size =
      request->page_size() == 0 ? kDefaultPageSize : std::min(request->page_size(), kMaxPageSize);
  auto sessions = repository_.ListSessions(request->user_id(), request->page_token(),
                                           static_cast<int>(page_size));
  if (!sessions.ok()) return ToGrpcStatus(sessions.status());
  for (const storage::SessionRecord& session : *sessions) {
    if (absl::Status s = FillSession(session, response->add_sessions()); !s.ok()) {
      return ToGrpcStatus(s);
    }
  }
  if (sessions->size() == page_size) response->set_next_page_token(sessions->back().session_id);
  return grpc::Status::OK;
}

absl::Status SessionService::CheckListening(const v1::SessionOptions& options,
                                            const std::string& request_id) {
  v1::ListSamplesRequest first;
  first.set_page_size(1);
  v1::ListSamplesResponse samples;
  if (absl::Status s =
          FromGrpcCall(render_.ListSamples(CallContext(options_.render_timeout, request_id).get(),
                                           first, &samples),
                       "render service");
      !s.ok()) {
    return s;
  }
  if (samples.samples_size() == 0) {
    return absl::FailedPreconditionError(
        "the render service has no samples to render loops with (its log names the files it "
        "rejected)");
  }
  // Any sample stands for the session's: what the render's length depends on is the same.
  v1::RenderRequest request = ListenedRender(options.audio_format());
  request.set_validate_only(true);
  v1::DrumLoop& loop = *request.mutable_loop();
  loop.set_steps(options.priors().steps());
  loop.set_bpm(options.priors().bpm());
  v1::Track& track = *loop.add_tracks();
  track.set_sample_id(samples.samples(0).id());
  track.mutable_hits()->Resize(static_cast<int>(options.priors().steps()), false);
  v1::RenderResponse response;
  const absl::Status status = FromGrpcCall(
      render_.Render(CallContext(options_.render_timeout, request_id).get(), request, &response),
      "render service");
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    return absl::InvalidArgumentError(
        absl::StrCat("options.priors make loops the render service will not render as a "
                     "listener hears them (",
                     kListenedRepeats, " bars of ", options.priors().steps(), " steps at ",
                     options.priors().bpm(), " bpm, then a ", kListenedTailSeconds,
                     " s tail): ", status.message()));
  }
  return status;
}

absl::StatusOr<v1::RenderResponse> SessionService::RenderLoop(const storage::LoopRecord& loop,
                                                              v1::AudioFormat format,
                                                              const std::string& request_id) {
  v1::RenderRequest request = ListenedRender(format);
  if (!request.mutable_loop()->ParseFromString(loop.pattern)) {
    return absl::DataLossError(
        absl::StrCat("stored pattern of loop ", loop.loop_id, " is corrupt"));
  }
  v1::RenderResponse response;
  if (absl::Status s =
          FromGrpcCall(render_.Render(CallContext(options_.render_timeout, request_id).get(),
                                      request, &response),
                       "render service");
      !s.ok()) {
    return s;
  }
  return response;
}

grpc::Status SessionService::NextLoop(grpc::ServerContext* context,
                                      const v1::NextLoopRequest* request,
                                      v1::NextLoopResponse* response) {
  const std::string request_id = RequestIdOf(*context);
  if (!v1::AudioDelivery_IsValid(request->audio_delivery())) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("audio_delivery ", static_cast<int>(request->audio_delivery()),
                     " is not an AudioDelivery (AUDIO_DELIVERY_INLINE or "
                     "AUDIO_DELIVERY_REFERENCE)")));
  }
  auto session = OwnedSession(request->session_id(), request->user_id());
  if (!session.ok()) return ToGrpcStatus(session.status());
  auto loop = coordinator_.Present(session->session_id, request_id);
  if (!loop.ok()) return ToGrpcStatus(loop.status());
  if (!loop->has_value()) {
    return ToGrpcStatus(absl::FailedPreconditionError(absl::StrCat(
        "session ", session->session_id, " is complete: every loop is rated; see GetResults")));
  }
  const storage::LoopRecord& presented = **loop;
  // The next loop's inputs are complete once this one is out: in Phase II always, in Phase I when
  // its critic may lag this loop's rating.
  if (presented.phase == 2 || session->phase1_critic_lag > 0) {
    coordinator_.PrepareInBackground(session->session_id, request_id);
  }
  auto counts = repository_.Counts(session->session_id);
  if (!counts.ok()) return ToGrpcStatus(counts.status());
  response->set_loop_id(presented.loop_id);
  if (!response->mutable_loop()->ParseFromString(presented.pattern)) {
    return ToGrpcStatus(absl::DataLossError("stored pattern is corrupt"));
  }
  response->set_phase(presented.phase == 1 ? v1::PHASE_LEARNING : v1::PHASE_EVALUATION);
  FillProgress(*session, *counts, response->mutable_progress());
  response->set_position(static_cast<uint32_t>(presented.position));
  response->set_audio_ref(presented.loop_id);
  const v1::AudioFormat format = StoredAudioFormat(session->options);
  response->set_audio_format(format);
  if (request->audio_delivery() == v1::AUDIO_DELIVERY_REFERENCE) {
    auto pattern = PatternFromProto(response->loop());
    if (!pattern.ok()) {
      return ToGrpcStatus(
          absl::DataLossError(absl::StrCat("stored loop ", presented.loop_id,
                                           " is not a valid loop: ", pattern.status().message())));
    }
    response->set_duration_seconds(
        static_cast<double>(
            LoopFrames(pattern->steps(), pattern->bpm(), kListenedRepeats, kListenedTailSeconds)) /
        kSampleRate);
    return grpc::Status::OK;
  }
  auto audio = RenderLoop(presented, format, request_id);
  if (!audio.ok()) return ToGrpcStatus(audio.status());
  response->set_audio(std::move(*audio->mutable_audio()));
  response->set_duration_seconds(audio->duration_seconds());
  return grpc::Status::OK;
}

grpc::Status SessionService::Rate(grpc::ServerContext* context, const v1::RateRequest* request,
                                  v1::RateResponse* response) {
  const std::string request_id = RequestIdOf(*context);
  const absl::StatusOr<bool> liked = LikedFromProto(request->rating(), "rating");
  if (!liked.ok()) return ToGrpcStatus(liked.status());
  if (request->request_id().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "request_id is required (a client-generated key of at most 200 bytes, unique per rating)"));
  }
  if (absl::Status s = storage::ValidateStoredText(request->request_id(), "request_id"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  auto outcome =
      repository_.Rate(request->loop_id(), *liked, request->request_id(), request->user_id());
  if (!outcome.ok()) return ToGrpcStatus(outcome.status());
  // Stored and committed: training on it and drawing the next loop start now, in the background.
  coordinator_.PrepareInBackground(outcome->session_id, request_id);
  auto session = repository_.GetSession(outcome->session_id);
  if (!session.ok()) return ToGrpcStatus(session.status());
  auto counts = repository_.Counts(outcome->session_id);
  if (!counts.ok()) return ToGrpcStatus(counts.status());
  response->set_phase(PhaseOf(*session, *counts));
  FillProgress(*session, *counts, response->mutable_progress());
  response->set_duplicate(outcome->duplicate);
  TimestampToProto(outcome->rated_at, response->mutable_rated_at());
  return grpc::Status::OK;
}

grpc::Status SessionService::GetResults(grpc::ServerContext* context,
                                        const v1::GetResultsRequest* request,
                                        v1::SessionResults* response) {
  auto session = OwnedSession(request->session_id(), request->user_id());
  if (!session.ok()) return ToGrpcStatus(session.status());
  const bool has_phase2 = session->phase2_per_critic > 0;
  if (!has_phase2 && !session->final_critic_version.has_value()) {
    // Its final critic trains on the last rating, in the background: wait for that (a no-op
    // while ratings are missing).
    if (absl::Status s = coordinator_.Prepare(session->session_id, RequestIdOf(*context));
        !s.ok()) {
      return ToGrpcStatus(s);
    }
    session = repository_.GetSession(session->session_id);
    if (!session.ok()) return ToGrpcStatus(session.status());
  }
  auto loops = repository_.Loops(session->session_id);
  if (!loops.ok()) return ToGrpcStatus(loops.status());
  v1::SessionResults results = ResultsOf(*session, *loops);
  if (!HasResults(*session, results)) {
    return ToGrpcStatus(absl::FailedPreconditionError(
        has_phase2
            ? "no results before Phase II: rate every Phase I loop and at least one Phase II loop"
            : "no results before the session ends: rate every loop (it has no Phase II)"));
  }
  *response = std::move(results);
  return grpc::Status::OK;
}

grpc::Status SessionService::ExportSession(grpc::ServerContext* context,
                                           const v1::ExportSessionRequest* request,
                                           v1::ExportSessionResponse* response) {
  const std::string request_id = RequestIdOf(*context);
  auto session = OwnedSession(request->session_id(), request->user_id());
  if (!session.ok()) return ToGrpcStatus(session.status());
  // Exports without audio are light; those with it pass the gate (null: no limit).
  const auto admitted = Admit(request->include_audio() ? audio_exports_ : nullptr, *context);
  if (!admitted.ok()) return ToGrpcStatus(admitted.status());
  auto loops = repository_.Loops(session->session_id);
  if (!loops.ok()) return ToGrpcStatus(loops.status());
  v1::SessionExport document;
  if (absl::Status s = FillSession(*session, document.mutable_session()); !s.ok()) {
    return ToGrpcStatus(s);
  }
  document.set_critic_id(session->critic_id);
  int64_t audio_bytes = 0;
  for (const storage::LoopRecord& loop : *loops) {
    *document.add_loops() = ExportedLoopOf(loop);
    if (request->include_audio() && loop.presented_at) {
      auto audio = RenderLoop(loop, v1::AUDIO_FORMAT_WAV, request_id);
      if (!audio.ok()) return ToGrpcStatus(audio.status());
      audio_bytes += static_cast<int64_t>(audio->audio().size());
      if (audio_bytes > options_.max_reply_bytes) return ExportTooLarge(options_.max_reply_bytes);
      v1::LoopAudio* entry = response->add_audio();
      entry->set_loop_id(loop.loop_id);
      entry->set_format(v1::AUDIO_FORMAT_WAV);
      entry->set_audio(std::move(*audio->mutable_audio()));
    }
  }
  if (v1::SessionResults results = ResultsOf(*session, *loops); HasResults(*session, results)) {
    *document.mutable_results() = std::move(results);
  }
  google::protobuf::util::JsonPrintOptions json;
  json.add_whitespace = true;
  json.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(document, response->mutable_json_document(),
                                                   json)
           .ok()) {
    return ToGrpcStatus(absl::InternalError("could not write the export as JSON"));
  }
  if (static_cast<int64_t>(response->ByteSizeLong()) > options_.max_reply_bytes) {
    return ExportTooLarge(options_.max_reply_bytes);
  }
  return grpc::Status::OK;
}

grpc::Status SessionService::StreamLoopAudio(grpc::ServerContext* context,
                                             const v1::StreamLoopAudioRequest* request,
                                             grpc::ServerWriter<v1::AudioChunk>* writer) {
  const std::string request_id = RequestIdOf(*context);
  if (auto encoding = EncodingFromProto(request->format(), "format"); !encoding.ok()) {
    return ToGrpcStatus(encoding.status());
  }
  auto loop = repository_.GetLoop(request->loop_id());
  if (!loop.ok()) return ToGrpcStatus(loop.status());
  if (absl::Status s = CheckOwner(loop->user_id, request->user_id(), "loop", loop->loop_id);
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (!loop->presented_at.has_value()) {
    // Unpresented Phase II loops must stay unknown to clients until their turn.
    return ToGrpcStatus(
        absl::NotFoundError(absl::StrCat("loop ", loop->loop_id, " does not exist")));
  }
  v1::AudioFormat format = request->format();
  if (format == v1::AUDIO_FORMAT_UNSPECIFIED) {
    auto session = repository_.GetSession(loop->session_id);
    if (!session.ok()) return ToGrpcStatus(session.status());
    format = StoredAudioFormat(session->options);
  }
  auto audio = RenderLoop(*loop, format, request_id);
  if (!audio.ok()) return ToGrpcStatus(audio.status());
  const std::string& bytes = audio->audio();
  for (size_t at = 0; at < bytes.size(); at += static_cast<size_t>(options_.audio_chunk_bytes)) {
    v1::AudioChunk chunk;
    if (at == 0) chunk.set_mime_type(audio->mime_type());
    chunk.set_data(bytes.substr(at, static_cast<size_t>(options_.audio_chunk_bytes)));
    if (!writer->Write(chunk)) return ToGrpcStatus(absl::CancelledError("client went away"));
  }
  return grpc::Status::OK;
}

}  // namespace dd
