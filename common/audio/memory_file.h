// An in-memory file for libsndfile's virtual I/O, so encoding and decoding never touch the disk.
#pragma once

#include <sndfile.h>

#include <string>

namespace dd::internal {

struct MemoryFile {
  std::string bytes;
  sf_count_t position = 0;
};

// Callbacks over a MemoryFile passed as the user-data pointer.
SF_VIRTUAL_IO& MemoryFileIo();

}  // namespace dd::internal
