#include "common/audio/cpu_features.h"

namespace dd {

// __builtin_cpu_init makes these safe to call from static initialisers too.
bool CpuHasAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
}

bool CpuHasAvx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

}  // namespace dd
