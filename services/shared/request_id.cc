#include "services/shared/request_id.h"

#include <random>

namespace dd {

bool IsUsableRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdBytes) return false;
  for (const char c : id) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::string NewRequestId() {
  // Ids need to be unique, not secret: a per-thread generator seeded once is enough.
  thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (size_t i = 0; i < id.size(); i += 16) {
    uint64_t bits = generator();
    for (size_t j = 0; j < 16; ++j, bits >>= 4)
      id[i + j] = kHex[bits & 0xf];
  }
  return id;
}

std::string RequestIdOf(const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  const auto found = metadata.find(kRequestIdMetadataKey);
  if (found == metadata.end()) return "";
  return std::string(found->second.data(), found->second.size());
}

void AttachRequestId(std::string_view id, grpc::ClientContext& context) {
  if (!id.empty()) context.AddMetadata(kRequestIdMetadataKey, std::string(id));
}

}  // namespace dd
