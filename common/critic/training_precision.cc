#include "common/critic/training_precision.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace dd::critic {

const char* TrainingPrecisionName(TrainingPrecision precision) {
  return precision == TrainingPrecision::kBFloat16 ? "bfloat16" : "float32";
}

bool CpuHasNativeBFloat16() {
#if defined(__x86_64__) || defined(__i386__)
  // __builtin_cpu_supports checks that the OS saves the AVX-512 registers as well.
  if (!__builtin_cpu_supports("avx512f")) return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && (eax & (1u << 5)) != 0) {
    return true;  // AVX512_BF16
  }
  return __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (edx & (1u << 22)) != 0;  // AMX-BF16
#else
  return false;
#endif
}

std::optional<TrainingPrecision> ParseTrainingPrecision(const std::string& text,
                                                        const std::string& device,
                                                        std::string* error) {
  if (text == "float32") return TrainingPrecision::kFloat32;
  if (text == "bfloat16") return TrainingPrecision::kBFloat16;
  if (text == "auto") {
    return device == "cpu" && CpuHasNativeBFloat16() ? TrainingPrecision::kBFloat16
                                                     : TrainingPrecision::kFloat32;
  }
  *error = "training precision must be float32, bfloat16 or auto, got " + text;
  return std::nullopt;
}

}  // namespace dd::critic
