// The sampler's scoring interface over gRPC: each batch of proposals is one Score call to the
// critic service, which renders the loops and runs them as one batch. The first call pins the
// critic version, so every chain of a request is judged by the same critic.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/sampler/pattern_scorer.h"
#include "deepdrummer/v1/critic.grpc.pb.h"

namespace dd {

class RemoteCriticScorer final : public PatternScorer {
 public:
  // `version` unset: the latest, as of the first call. Every call ends by `deadline`, lasts at
  // most `call_timeout` and carries `request_id` (see services/shared/request_id.h).
  RemoteCriticScorer(deepdrummer::v1::CriticService::StubInterface& critic, std::string critic_id,
                     std::optional<uint64_t> version, absl::Time deadline,
                     absl::Duration call_timeout, std::string request_id)
      : critic_(critic),
        critic_id_(std::move(critic_id)),
        version_(version),
        deadline_(deadline),
        call_timeout_(call_timeout),
        request_id_(std::move(request_id)) {}

  absl::StatusOr<std::vector<double>> Score(absl::Span<const Pattern> patterns) override;

  // The version that scored, once a call has succeeded.
  std::optional<uint64_t> version() const { return version_; }

 private:
  deepdrummer::v1::CriticService::StubInterface& critic_;
  const std::string critic_id_;
  std::optional<uint64_t> version_;
  const absl::Time deadline_;
  const absl::Duration call_timeout_;
  const std::string request_id_;
};

}  // namespace dd
