// SessionService's gRPC handler: validates requests, checks ownership, converts between API
// messages and stored records, and fetches audio from the render service. The protocol's rules
// are in common/session/protocol.h, the coordination in session_coordinator.h, and all SQL in
// storage::SessionRepository.
#pragma once

#include "absl/time/time.h"
#include "common/admission/admission_gate.h"
#include "common/storage/session_repository.h"
#include "deepdrummer/v1/critic.grpc.pb.h"
#include "deepdrummer/v1/render.grpc.pb.h"
#include "deepdrummer/v1/session.grpc.pb.h"
#include "services/session/session_coordinator.h"
#include "services/session/session_options.h"

namespace dd {

struct SessionServiceOptions {
  SessionOptionLimits session_limits;                 // What StartSession accepts and fills in.
  absl::Duration render_timeout = absl::Seconds(20);  // Per Render call.
  absl::Duration critic_timeout = absl::Seconds(30);  // CreateCritic and DeleteCritic calls.
  int audio_chunk_bytes = 256 << 10;                  // StreamLoopAudio chunk size.
  // Largest reply the server sends (its --max_message_bytes): an ExportSession with audio that
  // would exceed it is refused with a message instead of failing in gRPC's transport.
  int64_t max_reply_bytes = 64 << 20;
};

class SessionService final : public deepdrummer::v1::SessionService::Service {
 public:
  // `audio_exports` (not owned; null: no limit) admits the ExportSession calls with
  // include_audio: each holds up to max_reply_bytes of audio, and about twice that while gRPC
  // sends it, so a few at once can take more memory than a pod has.
  SessionService(storage::SessionRepository& repository, SessionCoordinator& coordinator,
                 deepdrummer::v1::CriticService::StubInterface& critic,
                 deepdrummer::v1::RenderService::StubInterface& render,
                 SessionServiceOptions options, AdmissionGate* audio_exports = nullptr)
      : repository_(repository),
        coordinator_(coordinator),
        critic_(critic),
        render_(render),
        options_(options),
        audio_exports_(audio_exports) {}

  grpc::Status CreateUser(grpc::ServerContext*, const deepdrummer::v1::CreateUserRequest*,
                          deepdrummer::v1::User*) override;
  grpc::Status GetUser(grpc::ServerContext*, const deepdrummer::v1::GetUserRequest*,
                       deepdrummer::v1::User*) override;
  grpc::Status DeleteUser(grpc::ServerContext*, const deepdrummer::v1::DeleteUserRequest*,
                          deepdrummer::v1::DeleteUserResponse*) override;
  grpc::Status StartSession(grpc::ServerContext*, const deepdrummer::v1::StartSessionRequest*,
                            deepdrummer::v1::Session*) override;
  grpc::Status GetSession(grpc::ServerContext*, const deepdrummer::v1::GetSessionRequest*,
                          deepdrummer::v1::Session*) override;
  grpc::Status ListSessions(grpc::ServerContext*, const deepdrummer::v1::ListSessionsRequest*,
                            deepdrummer::v1::ListSessionsResponse*) override;
  grpc::Status NextLoop(grpc::ServerContext*, const deepdrummer::v1::NextLoopRequest*,
                        deepdrummer::v1::NextLoopResponse*) override;
  grpc::Status Rate(grpc::ServerContext*, const deepdrummer::v1::RateRequest*,
                    deepdrummer::v1::RateResponse*) override;
  grpc::Status GetResults(grpc::ServerContext* context, const deepdrummer::v1::GetResultsRequest*,
                          deepdrummer::v1::SessionResults*) override;
  grpc::Status ExportSession(grpc::ServerContext*, const deepdrummer::v1::ExportSessionRequest*,
                             deepdrummer::v1::ExportSessionResponse*) override;
  grpc::Status StreamLoopAudio(grpc::ServerContext*, const deepdrummer::v1::StreamLoopAudioRequest*,
                               grpc::ServerWriter<deepdrummer::v1::AudioChunk>*) override;

 private:
  absl::StatusOr<storage::SessionRecord> OwnedSession(const std::string& session_id,
                                                      const std::string& user_id);
  absl::Status FillSession(const storage::SessionRecord& record, deepdrummer::v1::Session* out);
  // Whether dd-render will render the loops of a session with these (complete) options as a
  // listener hears them: all have the priors' steps and bpm, so one check at StartSession tells,
  // where a session it would not render (too long for its --max_render_seconds) would fail at
  // every NextLoop.
  absl::Status CheckListening(const deepdrummer::v1::SessionOptions& options,
                              const std::string& request_id);
  // Renders through dd-render; the call carries the client's request id.
  absl::StatusOr<deepdrummer::v1::RenderResponse> RenderLoop(const storage::LoopRecord& loop,
                                                             deepdrummer::v1::AudioFormat format,
                                                             const std::string& request_id);

  storage::SessionRepository& repository_;
  SessionCoordinator& coordinator_;
  deepdrummer::v1::CriticService::StubInterface& critic_;
  deepdrummer::v1::RenderService::StubInterface& render_;
  const SessionServiceOptions options_;
  AdmissionGate* const audio_exports_;
};

}  // namespace dd
