// The protocol's view of a stored session: common/session/protocol.h knows no storage, and
// storage knows no protocol.
#pragma once

#include "common/session/protocol.h"
#include "common/storage/session_repository.h"

namespace dd {

inline session::ProtocolShape ShapeOf(const storage::SessionRecord& session) {
  return {session.phase1_total, session.phase2_per_critic, session.seed, session.phase1_critic_lag};
}

}  // namespace dd
