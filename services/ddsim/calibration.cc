#include "services/ddsim/calibration.h"

#include <chrono>
#include <set>

#include <grpcpp/client_context.h>

#include "common/pattern/generation.h"
#include "common/random/rng.h"
#include "services/ddsim/hearing.h"
#include "services/shared/proto_convert.h"
#include "services/shared/status_mapping.h"

namespace dd::sim {
namespace v1 = deepdrummer::v1;

namespace {

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
}

}  // namespace

absl::StatusOr<RandomLoopsHeard> HearRandomLoops(v1::RenderService::Stub& render,
                                                 const v1::PatternPriors& priors, int count,
                                                 uint64_t seed, absl::Duration call_timeout,
                                                 CallRecorder& recorder) {
  std::vector<std::string> ids;
  v1::ListSamplesRequest list;
  list.set_page_size(1000);
  do {
    grpc::ClientContext context;
    SetDeadline(context, call_timeout);
    v1::ListSamplesResponse page;
    const absl::Time start = absl::Now();
    const absl::Status status = FromGrpcCall(render.ListSamples(&context, list, &page), "render");
    recorder.Record("RenderService.ListSamples", absl::Now() - start, status);
    if (!status.ok()) return status;
    for (const auto& sample : page.samples())
      ids.push_back(sample.id());
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  RandomLoopsHeard heard;
  std::set<std::string> families;
  for (const std::string& id : ids)
    families.insert(listeners::SampleFamily(id));
  families.erase("");
  heard.families.assign(families.begin(), families.end());

  auto options = GenerationOptionsFromProto(priors, v1::SamplerOptions());
  if (!options.ok()) return options.status();
  std::vector<std::string> kick_ids(priors.kick_sample_ids().begin(),
                                    priors.kick_sample_ids().end());
  std::vector<std::string> only_ids(priors.sample_ids().begin(), priors.sample_ids().end());
  std::vector<std::string> only_folders(priors.sample_folders().begin(),
                                        priors.sample_folders().end());
  auto pool = SelectSamplePool(ids, only_ids, only_folders, kick_ids, options->four_on_the_floor);
  if (!pool.ok()) return pool.status();
  auto generator = PatternGenerator::Create(*options, *std::move(pool));
  if (!generator.ok()) return generator.status();

  Rng rng(seed);
  for (int i = 0; i < count; ++i) {
    v1::RenderRequest request;
    PatternToProto(generator->Random(rng), request.mutable_loop());
    request.set_format(v1::AUDIO_FORMAT_WAV);
    v1::RenderResponse response;
    grpc::ClientContext context;
    SetDeadline(context, call_timeout);
    const absl::Time start = absl::Now();
    const absl::Status status = FromGrpcCall(render.Render(&context, request, &response), "render");
    recorder.Record("RenderService.Render", absl::Now() - start, status);
    if (!status.ok()) return status;
    auto loop = Hear(response.audio(), request.loop());
    if (!loop.ok()) return loop.status();
    heard.loops.push_back(*std::move(loop));
  }
  return heard;
}

}  // namespace dd::sim
