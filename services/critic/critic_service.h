// CriticService's gRPC handler: converts messages (rendering loops to the clip the critic hears),
// enforces request limits and maps errors. The work is in CriticStore (common/critic_serving).
#pragma once

#include "common/admission/admission_gate.h"
#include "common/critic_serving/critic_store.h"
#include "common/render/helper_team.h"
#include "common/samples/library_holder.h"
#include "common/storage/critic_repository.h"
#include "deepdrummer/v1/critic.grpc.pb.h"

namespace dd {

struct CriticServiceOptions {
  int max_score_batch = 1024;    // Items per Score call; more is RESOURCE_EXHAUSTED.
  int max_train_examples = 256;  // Examples per Train call (critic.proto says 256 to callers).
};

class CriticService final : public deepdrummer::v1::CriticService::Service {
 public:
  // `render_helpers` (optional) render a call's loops alongside the call's own thread.
  // `admission` (optional) bounds the Train and Score calls that run at once. Neither is owned.
  CriticService(CriticStore& store, storage::CriticRepository& repository,
                SampleLibraryHolder& samples, CriticServiceOptions options,
                HelperTeam* render_helpers = nullptr, AdmissionGate* admission = nullptr)
      : store_(store),
        repository_(repository),
        samples_(samples),
        options_(options),
        render_helpers_(render_helpers),
        admission_(admission) {}

  grpc::Status CreateCritic(grpc::ServerContext*, const deepdrummer::v1::CreateCriticRequest*,
                            deepdrummer::v1::CreateCriticResponse*) override;
  grpc::Status Train(grpc::ServerContext*, const deepdrummer::v1::TrainRequest*,
                     deepdrummer::v1::TrainResponse*) override;
  grpc::Status Score(grpc::ServerContext*, const deepdrummer::v1::ScoreRequest*,
                     deepdrummer::v1::ScoreResponse*) override;
  grpc::Status GetCritic(grpc::ServerContext*, const deepdrummer::v1::GetCriticRequest*,
                         deepdrummer::v1::Critic*) override;
  grpc::Status GetSnapshot(grpc::ServerContext*, const deepdrummer::v1::GetSnapshotRequest*,
                           deepdrummer::v1::CriticSnapshot*) override;
  grpc::Status DeleteCritic(grpc::ServerContext*, const deepdrummer::v1::DeleteCriticRequest*,
                            deepdrummer::v1::DeleteCriticResponse*) override;

 private:
  // The calling thread and each render helper, each with scratch of its own.
  int RenderParticipants() const;

  CriticStore& store_;
  storage::CriticRepository& repository_;
  SampleLibraryHolder& samples_;
  const CriticServiceOptions options_;
  HelperTeam* const render_helpers_;
  AdmissionGate* const admission_;
};

}  // namespace dd
