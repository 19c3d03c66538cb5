#include "services/generator/generator_service.h"

#include "common/log/log.h"
#include "services/generator/remote_critic_scorer.h"
#include "services/shared/call_admission.h"
#include "services/shared/proto_convert.h"
#include "services/shared/request_id.h"
#include "services/shared/status_mapping.h"

namespace dd {
namespace v1 = deepdrummer::v1;
namespace {

absl::Time RequestDeadline(const grpc::ServerContext& context, absl::Duration fallback) {
  const absl::Time deadline = CallDeadline(context);
  return deadline == absl::InfiniteFuture() ? absl::Now() + fallback : deadline;
}

}  // namespace

absl::Status GeneratorService::Run(grpc::ServerContext& context, const v1::SampleRequest& request,
                                   const std::function<absl::Status(v1::SampledLoop)>& emit) {
  const absl::Time start = absl::Now();
  auto plan = PlanSampling(request, samples_.Get()->ids(), options_.limits);
  // Sample answers validate_only itself (with the count of distinct loops); a stream gets none.
  if (!plan.ok() || request.validate_only()) return plan.status();
  auto admitted = Admit(admission_, context);
  if (!admitted.ok()) return admitted.status();
  const absl::Time deadline = RequestDeadline(context, options_.default_deadline);
  const std::string request_id = RequestIdOf(context);
  RemoteCriticScorer scorer(critic_, request.critic_id(), plan->critic_version, deadline,
                            options_.critic_call_timeout, request_id);
  SamplingJob job = std::move(plan->job);
  const int count = job.count;
  job.keep_going = [&context, deadline]() {
    if (context.IsCancelled()) return absl::CancelledError("the caller cancelled the request");
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError("the deadline passed before every loop was sampled");
    }
    return absl::OkStatus();
  };
  job.on_loop = [&scorer, &emit](SampledPattern loop) {
    v1::SampledLoop out;
    PatternToProto(loop.pattern, out.mutable_loop());
    out.set_score(loop.score);
    out.set_steps_taken(static_cast<uint32_t>(loop.steps_taken));
    out.set_acceptance_rate(loop.acceptance_rate);
    out.set_threshold_reached(loop.threshold_reached);
    out.set_capped(loop.capped);
    out.set_fingerprint(loop.pattern.Fingerprint());
    out.set_critic_version(scorer.version().value_or(0));
    return emit(std::move(out));
  };
  absl::Status status = RunSampler(plan->generator, scorer, plan->sampler, std::move(job));
  // A critic call cut short by our own deadline reads as the deadline, not as a critic fault.
  if (!status.ok() && absl::Now() >= deadline) {
    status = absl::DeadlineExceededError("the deadline passed before every loop was sampled");
  }
  log::Info("generator.sample", {{"critic_id", request.critic_id()},
                                 {"mode", v1::SamplingMode_Name(request.mode())},
                                 {"count", count},
                                 {"ms", absl::ToDoubleMilliseconds(absl::Now() - start)},
                                 {"request_id", request_id},
                                 {"status", status.ok() ? std::string("OK") : status.ToString()}});
  return status;
}

grpc::Status GeneratorService::Sample(grpc::ServerContext* context,
                                      const v1::SampleRequest* request,
                                      v1::SampleResponse* response) {
  if (request->validate_only()) {
    auto plan = PlanSampling(*request, samples_.Get()->ids(), options_.limits);
    if (!plan.ok()) return ToGrpcStatus(plan.status());
    response->set_distinct_loops(plan->generator.DistinctPatterns());
    return grpc::Status::OK;
  }
  return ToGrpcStatus(Run(*context, *request, [response](v1::SampledLoop loop) {
    *response->add_loops() = std::move(loop);
    return absl::OkStatus();
  }));
}

grpc::Status GeneratorService::SampleStream(grpc::ServerContext* context,
                                            const v1::SampleRequest* request,
                                            grpc::ServerWriter<v1::SampledLoop>* writer) {
  return ToGrpcStatus(Run(*context, *request, [writer](v1::SampledLoop loop) {
    if (!writer->Write(loop)) return absl::CancelledError("the caller stopped reading the stream");
    return absl::OkStatus();
  }));
}

}  // namespace dd
