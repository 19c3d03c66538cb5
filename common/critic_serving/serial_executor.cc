#include "common/critic_serving/serial_executor.h"

namespace dd {

SerialExecutor::SerialExecutor() : thread_([this] { Loop(); }) {}

SerialExecutor::~SerialExecutor() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  thread_.join();
}

void SerialExecutor::Run(absl::FunctionRef<void()> task) {
  Task mine{task};
  absl::MutexLock lock(&mutex_);
  queue_.push_back(&mine);
  mutex_.Await(absl::Condition(
      +[](Task* t) { return t->done; }, &mine));
}

int64_t SerialExecutor::tasks_run() const {
  absl::MutexLock lock(&mutex_);
  return tasks_run_;
}

void SerialExecutor::Loop() {
  while (true) {
    Task* task = nullptr;
    {
      absl::MutexLock lock(&mutex_);
      auto ready = [this]()
                       ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return stopping_ || !queue_.empty(); };
      mutex_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // Stopping, and nothing is left to run.
      task = queue_.front();
      queue_.pop_front();
    }
    task->run();
    absl::MutexLock lock(&mutex_);
    task->done = true;
    ++tasks_run_;
  }
}

}  // namespace dd
