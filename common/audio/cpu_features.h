// Which vector instructions this CPU runs, for the audio kernels that pick their widest version
// at load time (pcm16.cc, common/render/mix_kernels.cc).
#pragma once

namespace dd {

bool CpuHasAvx2();
bool CpuHasAvx512();  // AVX-512 Foundation, all the kernels use.

}  // namespace dd
