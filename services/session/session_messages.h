// The API messages of what dd-session stores: users, progress, a session's results and its
// exported loops, made from the repository's records. No I/O, so the conversions are tested
// without a database.
#pragma once

#include <vector>

#include "common/storage/session_repository.h"
#include "deepdrummer/v1/session.pb.h"

namespace dd {

void FillUser(const storage::UserRecord& user, deepdrummer::v1::User* out);
void FillProgress(const storage::SessionRecord& session, const storage::SessionCounts& counts,
                  deepdrummer::v1::Progress* out);
// The phase the session's next loop belongs to.
deepdrummer::v1::Phase PhaseOf(const storage::SessionRecord& session,
                               const storage::SessionCounts& counts);
// Paper section 5 from the session's rated loops (those not yet rated are left out).
deepdrummer::v1::SessionResults ResultsOf(const storage::SessionRecord& session,
                                          const std::vector<storage::LoopRecord>& loops);
// Whether GetResults has an answer: the final critic is known and, when the session has a Phase
// II, at least one of its loops is rated.
bool HasResults(const storage::SessionRecord& session,
                const deepdrummer::v1::SessionResults& results);
// One loop as ExportSession reports it: where it came from, when it was shown and rated.
deepdrummer::v1::ExportedLoop ExportedLoopOf(const storage::LoopRecord& loop);

}  // namespace dd
