#include "services/critic/critic_service.h"

#include <cstring>
#include <limits>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/critic/critic_config.h"
#include "common/render/renderer.h"
#include "common/render/steady_clip.h"
#include "common/storage/text_field.h"
#include "services/shared/call_admission.h"
#include "services/shared/proto_convert.h"
#include "services/shared/status_mapping.h"

namespace dd {
namespace v1 = deepdrummer::v1;
namespace {

absl::StatusOr<critic::CriticConfig> ConfigFromProto(const v1::CriticConfig& in) {
  critic::CriticConfig c;
  if (in.has_learning_rate()) c.learning_rate = in.learning_rate();
  if (in.has_weight_decay()) c.weight_decay = in.weight_decay();
  if (in.has_dropout()) c.dropout = in.dropout();
  const struct {
    bool present;
    uint32_t value;
    const char* field;
    int* target;
  } counts[] = {
      {in.has_minibatches_per_rating(), in.minibatches_per_rating(), "minibatches_per_rating",
       &c.minibatches_per_rating},
      {in.has_minibatch_size(), in.minibatch_size(), "minibatch_size", &c.minibatch_size},
      {in.has_augment_max_shift(), in.augment_max_shift(), "augment_max_shift",
       &c.augment_max_shift},
      {in.has_mel_sample_rate(), in.mel_sample_rate(), "mel_sample_rate", &c.mel_sample_rate},
  };
  for (const auto& count : counts) {
    if (!count.present) continue;
    // A count too large for the critic's int is told the field's range with the value as sent,
    // as one in the int's range is when the critic is created.
    if (count.value > static_cast<uint32_t>(std::numeric_limits<int>::max())) {
      return absl::InvalidArgumentError(critic::CountProblem(count.field, count.value));
    }
    *count.target = static_cast<int>(count.value);
  }
  if (in.has_augment_gain_stddev()) c.augment_gain_stddev = in.augment_gain_stddev();
  if (in.has_augment_dc_offset_stddev()) c.augment_dc_offset_stddev = in.augment_dc_offset_stddev();
  if (in.has_augment_noise_stddev()) c.augment_noise_stddev = in.augment_noise_stddev();
  if (in.has_rhythm_branch()) c.rhythm_branch = in.rhythm_branch();
  if (in.has_rhythm_learning_rate()) c.rhythm_learning_rate = in.rhythm_learning_rate();
  c.seed =
      in.has_seed() ? in.seed() : std::random_device{}() * 0x100000001ULL + std::random_device{}();
  return c;
}

void ConfigToProto(const critic::CriticConfig& c, v1::CriticConfig* out) {
  out->set_learning_rate(c.learning_rate);
  out->set_weight_decay(c.weight_decay);
  out->set_dropout(c.dropout);
  out->set_minibatches_per_rating(static_cast<uint32_t>(c.minibatches_per_rating));
  out->set_minibatch_size(static_cast<uint32_t>(c.minibatch_size));
  out->set_augment_gain_stddev(c.augment_gain_stddev);
  out->set_augment_dc_offset_stddev(c.augment_dc_offset_stddev);
  out->set_augment_noise_stddev(c.augment_noise_stddev);
  out->set_augment_max_shift(static_cast<uint32_t>(c.augment_max_shift));
  out->set_mel_sample_rate(static_cast<uint32_t>(c.mel_sample_rate));
  out->set_rhythm_branch(c.rhythm_branch);
  out->set_rhythm_learning_rate(c.rhythm_learning_rate);
  out->set_seed(c.seed);
}

// The clip the critic hears, written to `clip` (critic::kClipFrames samples): from a loop (rendered
// to its steady-state bar, `scratch` holding the bar) or from audio that must already be one: 2 s
// of 44.1 kHz float samples.
absl::Status FillClip(const Renderer& renderer, const v1::DrumLoop* loop, const v1::PcmAudio* audio,
                      const std::string& what, float* clip, RenderedAudio& scratch) {
  if (loop != nullptr) {
    auto pattern = PatternFromProto(*loop);
    if (!pattern.ok())
      return absl::InvalidArgumentError(absl::StrCat(what, ": ", pattern.status().message()));
    absl::Status rendered =
        RenderSteadyClipInto(renderer, *pattern, clip, critic::kClipFrames, scratch);
    if (!rendered.ok()) {
      return absl::Status(rendered.code(), absl::StrCat(what, ": ", rendered.message()));
    }
    return absl::OkStatus();
  }
  if (audio == nullptr)
    return absl::InvalidArgumentError(absl::StrCat(what, ": set loop or audio"));
  if (audio->sample_rate() != critic::kClipSampleRate) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": audio must be at 44100 Hz, got ", audio->sample_rate()));
  }
  const std::string& bytes = audio->samples_f32le();
  if (bytes.size() != critic::kClipFrames * sizeof(float)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": audio must be ", critic::kClipFrames,
        " float samples (2 s, one steady-state bar), got ", bytes.size() / sizeof(float),
        bytes.size() % sizeof(float) ? " and a partial sample" : ""));
  }
  std::memcpy(clip, bytes.data(), bytes.size());
  if (const int64_t unfit = critic::FirstUnfitSample(clip, critic::kClipFrames); unfit >= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": audio sample ", unfit, " is ", clip[unfit], "; samples must be finite and within ",
        critic::kMaxClipSampleMagnitude, " (full scale is 1)"));
  }
  return absl::OkStatus();
}

// Each example's id, once every example's rating and id are checked (before any is rendered).
absl::StatusOr<std::vector<std::string>> CheckedExampleIds(const v1::TrainRequest& request) {
  std::vector<std::string> ids;
  for (int i = 0; i < request.examples_size(); ++i) {
    const v1::Example& in = request.examples(i);
    const std::string what = absl::StrCat("examples[", i, "]");
    if (absl::StatusOr<bool> liked = LikedFromProto(in.rating(), what + ": rating"); !liked.ok()) {
      return liked.status();
    }
    if (in.example_id().empty()) {
      return absl::InvalidArgumentError(what + ": example_id must be set");
    }
    if (absl::Status s = storage::ValidateStoredText(in.example_id(), what + ".example_id");
        !s.ok()) {
      return s;
    }
    ids.push_back(in.example_id());
  }
  return ids;
}

}  // namespace

int CriticService::RenderParticipants() const {
  return 1 + (render_helpers_ != nullptr ? render_helpers_->helpers() : 0);
}

grpc::Status CriticService::CreateCritic(grpc::ServerContext*,
                                         const v1::CreateCriticRequest* request,
                                         v1::CreateCriticResponse* response) {
  if (absl::Status s = storage::ValidateStoredText(request->owner(), "owner"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  const absl::StatusOr<critic::CriticConfig> config = ConfigFromProto(request->config());
  if (!config.ok()) return ToGrpcStatus(config.status());
  auto record = store_.CreateCritic(request->owner(), *config);
  if (!record.ok()) return ToGrpcStatus(record.status());
  response->set_critic_id(record->critic_id);
  response->set_version(0);
  ConfigToProto(*config, response->mutable_config());
  return grpc::Status::OK;
}

grpc::Status CriticService::Train(grpc::ServerContext* context, const v1::TrainRequest* request,
                                  v1::TrainResponse* response) {
  if (request->examples_size() > options_.max_train_examples) {
    return ToGrpcStatus(absl::ResourceExhaustedError(
        absl::StrCat("at most ", options_.max_train_examples, " examples per Train call, got ",
                     request->examples_size())));
  }
  auto admitted = Admit(admission_, *context);
  if (!admitted.ok()) return ToGrpcStatus(admitted.status());
  auto ids = CheckedExampleIds(*request);
  if (!ids.ok()) return ToGrpcStatus(ids.status());
  // Callers resend every rating with each Train; examples stored already with the same rating are
  // not rendered again. Besides the work, a loop rendered once must not block training forever
  // when one of its samples leaves the library.
  auto known = repository_.KnownExamples(request->critic_id(), *ids);
  if (!known.ok()) return ToGrpcStatus(known.status());
  std::vector<int> fresh;  // Indices of the examples to render and hand to the store.
  for (int i = 0; i < request->examples_size(); ++i) {
    const auto stored = known->find((*ids)[static_cast<size_t>(i)]);
    if (stored == known->end() ||
        stored->second != (request->examples(i).rating() == v1::RATING_LIKE)) {
      fresh.push_back(i);  // New, or a contradiction the store refuses under the critic's lock.
    }
  }
  Renderer renderer(samples_.Get());
  std::vector<TrainExample> examples(fresh.size());
  std::vector<RenderedAudio> scratch(static_cast<size_t>(RenderParticipants()));
  absl::Status filled =
      ForEachIndex(render_helpers_, static_cast<int>(fresh.size()), [&](int k, int participant) {
        const int i = fresh[static_cast<size_t>(k)];
        const v1::Example& in = request->examples(i);
        TrainExample& example = examples[static_cast<size_t>(k)];
        example.example_id = in.example_id();
        example.liked = in.rating() == v1::RATING_LIKE;
        example.clip.resize(critic::kClipFrames);
        return FillClip(renderer, in.has_loop() ? &in.loop() : nullptr,
                        in.has_audio() ? &in.audio() : nullptr, absl::StrCat("examples[", i, "]"),
                        example.clip.data(), scratch[static_cast<size_t>(participant)]);
      });
  if (!filled.ok()) return ToGrpcStatus(filled);
  std::optional<uint64_t> expected;
  if (request->has_expected_version()) expected = request->expected_version();
  auto result = store_.Train(request->critic_id(), examples, expected);
  if (!result.ok()) return ToGrpcStatus(result.status());
  const size_t skipped = ids->size() - fresh.size();
  response->set_version(result->version);
  response->set_examples_added(static_cast<uint32_t>(result->added));
  response->set_examples_already_known(
      static_cast<uint32_t>(static_cast<size_t>(result->already_known) + skipped));
  response->set_liked_count(static_cast<uint32_t>(result->liked_count));
  response->set_disliked_count(static_cast<uint32_t>(result->disliked_count));
  if (result->last_loss.has_value()) response->set_last_loss(*result->last_loss);
  return grpc::Status::OK;
}

grpc::Status CriticService::Score(grpc::ServerContext* context, const v1::ScoreRequest* request,
                                  v1::ScoreResponse* response) {
  if (request->items_size() == 0) {
    return ToGrpcStatus(absl::InvalidArgumentError("nothing to score: items is empty"));
  }
  if (request->items_size() > options_.max_score_batch) {
    return ToGrpcStatus(absl::ResourceExhaustedError(
        absl::StrCat("at most ", options_.max_score_batch, " items per Score call, got ",
                     request->items_size())));
  }
  if (absl::Status valid = storage::ValidateCriticId(request->critic_id()); !valid.ok()) {
    return ToGrpcStatus(valid);
  }
  auto admitted = Admit(admission_, *context);
  if (!admitted.ok()) return ToGrpcStatus(admitted.status());
  Renderer renderer(samples_.Get());
  critic::HostClips clips = store_.NewClips(request->items_size());
  std::vector<float*> slots;
  for (int i = 0; i < request->items_size(); ++i)
    slots.push_back(clips.Append());
  std::vector<RenderedAudio> scratch(static_cast<size_t>(RenderParticipants()));
  absl::Status filled =
      ForEachIndex(render_helpers_, request->items_size(), [&](int i, int participant) {
        const v1::ScoreItem& item = request->items(i);
        return FillClip(renderer, item.has_loop() ? &item.loop() : nullptr,
                        item.has_audio() ? &item.audio() : nullptr, absl::StrCat("items[", i, "]"),
                        slots[static_cast<size_t>(i)], scratch[static_cast<size_t>(participant)]);
      });
  if (!filled.ok()) return ToGrpcStatus(filled);
  std::optional<uint64_t> version;
  if (request->has_version()) version = request->version();
  auto result = store_.Score(request->critic_id(), version, clips.run());
  if (!result.ok()) return ToGrpcStatus(result.status());
  response->set_version(result->version);
  for (float p : result->like_probability)
    response->add_like_probability(p);
  return grpc::Status::OK;
}

grpc::Status CriticService::GetCritic(grpc::ServerContext*, const v1::GetCriticRequest* request,
                                      v1::Critic* response) {
  auto record = repository_.Get(request->critic_id());
  if (!record.ok()) return ToGrpcStatus(record.status());
  auto versions = repository_.Versions(request->critic_id());
  if (!versions.ok()) return ToGrpcStatus(versions.status());
  response->set_critic_id(record->critic_id);
  response->set_owner(record->owner);
  ConfigToProto(record->config, response->mutable_config());
  response->set_latest_version(record->latest_version);
  TimestampToProto(record->created_at, response->mutable_created_at());
  response->set_parameter_count(static_cast<uint64_t>(record->parameter_count));
  for (const storage::CriticVersionRecord& v : *versions) {
    v1::CriticVersion* out = response->add_versions();
    out->set_version(v.version);
    TimestampToProto(v.created_at, out->mutable_created_at());
    out->set_example_id(v.example_id);
    out->set_liked_count(static_cast<uint32_t>(v.liked_count));
    out->set_disliked_count(static_cast<uint32_t>(v.disliked_count));
    if (v.mean_loss.has_value()) out->set_mean_loss(*v.mean_loss);
    out->set_weights_dropped(!v.weights_kept);
  }
  return grpc::Status::OK;
}

grpc::Status CriticService::GetSnapshot(grpc::ServerContext*, const v1::GetSnapshotRequest* request,
                                        v1::CriticSnapshot* response) {
  uint64_t version = request->version();
  if (!request->has_version()) {
    auto record = repository_.Get(request->critic_id());
    if (!record.ok()) return ToGrpcStatus(record.status());
    version = record->latest_version;
  }
  auto state = repository_.State(request->critic_id(), version);
  if (!state.ok()) return ToGrpcStatus(state.status());
  response->set_critic_id(request->critic_id());
  response->set_version(version);
  response->set_model_state(state->model);
  response->set_optimizer_state(state->optimizer);
  response->set_rng_state(state->rng);
  return grpc::Status::OK;
}

grpc::Status CriticService::DeleteCritic(grpc::ServerContext*,
                                         const v1::DeleteCriticRequest* request,
                                         v1::DeleteCriticResponse* response) {
  auto counts = store_.DeleteCritic(request->critic_id());
  if (!counts.ok()) return ToGrpcStatus(counts.status());
  response->set_versions_deleted(static_cast<uint32_t>(counts->first));
  response->set_examples_deleted(static_cast<uint32_t>(counts->second));
  return grpc::Status::OK;
}

}  // namespace dd
