#include "services/generator/remote_critic_scorer.h"

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "services/shared/proto_convert.h"
#include "services/shared/request_id.h"
#include "services/shared/status_mapping.h"

namespace dd {
namespace v1 = deepdrummer::v1;

absl::StatusOr<std::vector<double>> RemoteCriticScorer::Score(absl::Span<const Pattern> patterns) {
  v1::ScoreRequest request;
  request.set_critic_id(critic_id_);
  if (version_.has_value()) request.set_version(*version_);
  for (const Pattern& pattern : patterns)
    PatternToProto(pattern, request.add_items()->mutable_loop());
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(std::min(deadline_, absl::Now() + call_timeout_)));
  AttachRequestId(request_id_, context);
  v1::ScoreResponse response;
  const grpc::Status status = critic_.Score(&context, request, &response);
  if (!status.ok()) return FromGrpcCall(status, "critic service");
  if (response.like_probability_size() != static_cast<int>(patterns.size())) {
    return absl::InternalError(absl::StrCat("critic service returned ",
                                            response.like_probability_size(), " scores for ",
                                            patterns.size(), " loops"));
  }
  version_ = response.version();
  return std::vector<double>(response.like_probability().begin(),
                             response.like_probability().end());
}

}  // namespace dd
