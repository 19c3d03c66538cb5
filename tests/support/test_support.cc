#include "tests/support/test_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sndfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>

namespace dd::testing {

TempDir::TempDir() {
  std::random_device device;
  const auto base = std::filesystem::temp_directory_path();
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate =
        base / ("dd-test-" + std::to_string(getpid()) + "-" + std::to_string(device()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary folder");
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

CapturedStderr::CapturedStderr() : path_(dir_.path() / "stderr") {
  std::fflush(stderr);
  saved_ = dup(STDERR_FILENO);
  const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(fd, STDERR_FILENO);
  close(fd);
}

CapturedStderr::~CapturedStderr() {
  Restore();
}

std::string CapturedStderr::Finish() {
  Restore();
  std::ifstream in(path_);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void CapturedStderr::Restore() {
  if (saved_ < 0) return;
  std::fflush(stderr);
  dup2(saved_, STDERR_FILENO);
  close(saved_);
  saved_ = -1;
}

std::filesystem::path SharedDrumSamplesDir() {
  if (const char* env = std::getenv("DD_SHARED_SAMPLES"); env != nullptr && *env != '\0') {
    return std::filesystem::is_directory(env) ? std::filesystem::path(env)
                                              : std::filesystem::path();
  }
  const std::filesystem::path path =
      std::filesystem::path(DD_SOURCE_DIR) / ".." / "shared" / "drum-samples";
  return std::filesystem::is_directory(path) ? path.lexically_normal() : std::filesystem::path();
}

bool RequireSharedData() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

int FreeLoopbackPort() {
  const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  if (probe < 0) throw std::runtime_error("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool bound = ::bind(probe, reinterpret_cast<sockaddr*>(&address), length) == 0 &&
                     ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(probe);
  if (!bound) throw std::runtime_error("no free loopback port");
  return ntohs(address.sin_port);
}

std::filesystem::path DefaultKitDir() {
  return std::filesystem::path(DD_SOURCE_DIR) / "samples" / "default-kit";
}

void WriteFloatWav(const std::filesystem::path& path, const std::vector<float>& interleaved,
                   int channels, int sample_rate) {
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = channels;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
  if (file == nullptr) throw std::runtime_error("cannot write " + path.string());
  sf_writef_float(file, interleaved.data(), static_cast<sf_count_t>(interleaved.size() / channels));
  sf_close(file);
}

void WriteFile(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream buffer;
  buffer << file.rdbuf();
  return buffer.str();
}

int64_t ExactStepStart(int64_t n, double bpm) {
  const auto tenths = static_cast<int64_t>(std::llround(bpm * 10.0));
  EXPECT_DOUBLE_EQ(tenths / 10.0, bpm) << "the reference needs a tempo with one decimal at most";
  return n * 60 * 44100 * 10 / (4 * tenths);
}

}  // namespace dd::testing
