#include "common/audio/memory_file.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace dd::internal {
namespace {

MemoryFile& Self(void* user_data) {
  return *static_cast<MemoryFile*>(user_data);
}

sf_count_t Length(void* user_data) {
  return static_cast<sf_count_t>(Self(user_data).bytes.size());
}

sf_count_t Seek(sf_count_t offset, int whence, void* user_data) {
  MemoryFile& file = Self(user_data);
  sf_count_t base = 0;
  if (whence == SEEK_CUR) base = file.position;
  if (whence == SEEK_END) base = static_cast<sf_count_t>(file.bytes.size());
  const sf_count_t target = base + offset;
  if (target < 0) return -1;
  file.position = target;
  return file.position;
}

sf_count_t Read(void* destination, sf_count_t count, void* user_data) {
  MemoryFile& file = Self(user_data);
  const auto size = static_cast<sf_count_t>(file.bytes.size());
  if (file.position >= size || count <= 0) return 0;
  const sf_count_t n = std::min(count, size - file.position);
  std::memcpy(destination, file.bytes.data() + file.position, static_cast<size_t>(n));
  file.position += n;
  return n;
}

sf_count_t Write(const void* source, sf_count_t count, void* user_data) {
  MemoryFile& file = Self(user_data);
  if (count <= 0) return 0;
  const auto end = static_cast<size_t>(file.position + count);
  if (static_cast<size_t>(file.position) == file.bytes.size()) {
    // The common case, writing at the end: append, as resize would zero what memcpy overwrites
    // (an eighth of the time of encoding a 9 s loop).
    file.bytes.append(static_cast<const char*>(source), static_cast<size_t>(count));
  } else {
    if (end > file.bytes.size()) file.bytes.resize(end);
    std::memcpy(file.bytes.data() + file.position, source, static_cast<size_t>(count));
  }
  file.position += count;
  return count;
}

sf_count_t Tell(void* user_data) {
  return Self(user_data).position;
}

}  // namespace

SF_VIRTUAL_IO& MemoryFileIo() {
  static SF_VIRTUAL_IO io{&Length, &Seek, &Read, &Write, &Tell};
  return io;
}

}  // namespace dd::internal
