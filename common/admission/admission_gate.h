// Admission control for a server's expensive calls: at most a set number run at once, so a burst
// of requests queues briefly and is then refused instead of taking every thread and all memory.
// A call beyond the limit waits for a running one to finish, up to a bound; then it gets
// RESOURCE_EXHAUSTED, which clients treat as "back off and retry".
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace dd {

struct AdmissionOptions {
  std::string name;         // Who refuses, for the error message (e.g. "dd-render").
  int max_concurrent = 64;  // Calls that run at once; 0: no limit.
  // How long a call beyond the limit waits for a slot (less when its own deadline is sooner)
  // before it is refused. Zero refuses at once.
  absl::Duration max_wait = absl::Seconds(5);
};

class AdmissionGate {
 public:
  // A running call's slot, given back when the ticket is destroyed.
  class Ticket {
   public:
    Ticket() = default;  // Holds no slot: what a call gets where no gate applies.
    Ticket(Ticket&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    Ticket& operator=(Ticket&&) = delete;
    ~Ticket() {
      if (gate_ != nullptr) gate_->Leave();
    }

   private:
    friend class AdmissionGate;
    explicit Ticket(AdmissionGate* gate) : gate_(gate) {}
    AdmissionGate* gate_ = nullptr;
  };

  // INVALID_ARGUMENT for a negative limit or wait.
  static absl::StatusOr<std::unique_ptr<AdmissionGate>> Create(AdmissionOptions options);

  // A slot as soon as one is free, waiting until `deadline` or max_wait from now, whichever is
  // sooner; RESOURCE_EXHAUSTED naming the limit when none frees up by then. The gate must
  // outlive the ticket.
  absl::StatusOr<Ticket> Enter(absl::Time deadline);

  int in_flight() const;
  const AdmissionOptions& options() const { return options_; }

 private:
  explicit AdmissionGate(AdmissionOptions options) : options_(std::move(options)) {}
  void Leave();

  const AdmissionOptions options_;
  mutable absl::Mutex mutex_;
  int in_flight_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace dd
