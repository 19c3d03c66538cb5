#!/usr/bin/env bash
# The critic on a GPU machine that has a CUDA LibTorch (through python3's torch) and nothing else
# of the project's dependencies: builds the critic alone (DD_LIBTORCH_ONLY) with its CUDA graph
# code (DD_CUDA), runs critic_cuda_test, then times dd_critic_bench (batches of 64, then of 256
# with and without cuDNN's timed algorithm choice). Logs go to $OUT (default
# /tmp/dd-gpu-check); the tables are printed last.
#
#   bash tests/bench/critic/gpu_check.sh
#
# Environment:
#   DD_GTEST_SOURCE_DIR   GoogleTest sources, where GoogleTest is not installed (Debian's
#                         googletest package has them under /usr/src/googletest).
#   DD_BASELINE_SOURCE    another checkout of the project: its dd_critic_bench is built too and
#                         timed alternately with this one's, on the same GPU, for a before/after.
#   DD_BENCH_RUNS         timed runs of each benchmark (default 2).
#   DD_BENCH_RATINGS      ratings timed per run and training mode (default 10).
set -uo pipefail
cd "$(dirname "$0")/../../.."
out=${OUT:-/tmp/dd-gpu-check}
mkdir -p "$out"
jobs=$(nproc)
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)') || exit 1
gtest=()
[[ -n "${DD_GTEST_SOURCE_DIR:-}" ]] && gtest=(-DDD_GTEST_SOURCE_DIR="$DD_GTEST_SOURCE_DIR")

configure() {  # source build extra-options...
  cmake -S "$1" -B "$2" -G Ninja -DDD_LIBTORCH_ONLY=ON -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" "${@:3}"
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'

baseline_log="$out/baseline-build.log"
if [[ -n "${DD_BASELINE_SOURCE:-}" ]]; then
  # With its CUDA graph code where it has some, as this tree's build, so the two compare alike.
  ( (configure "$DD_BASELINE_SOURCE" build-gpu-baseline -DDD_BUILD_TESTS=OFF -DDD_CUDA=ON ||
       configure "$DD_BASELINE_SOURCE" build-gpu-baseline -DDD_BUILD_TESTS=OFF) &&
     cmake --build build-gpu-baseline -j "$((jobs / 2))" --target dd_critic_bench) \
    >"$baseline_log" 2>&1 &
  baseline_pid=$!
fi

graphs=on
if ! configure . build-gpu -DDD_CUDA=ON "${gtest[@]}" >"$out/configure.log" 2>&1 ||
   ! cmake --build build-gpu -j "$jobs" --target dd_critic_bench critic_cuda_test \
     >"$out/build.log" 2>&1; then
  echo "build with DD_CUDA=ON failed (tail of the logs below); building without CUDA graphs"
  grep -B2 -A12 -m3 -E "error|Error" "$out/configure.log" "$out/build.log" 2>/dev/null | head -n 80
  graphs=off
  rm -rf build-gpu
  { configure . build-gpu "${gtest[@]}" &&
    cmake --build build-gpu -j "$jobs" --target dd_critic_bench critic_cuda_test; } \
    >"$out/build.log" 2>&1 || { tail -n 40 "$out/build.log"; exit 1; }
fi
echo "built (CUDA graphs: $graphs)"

# Brief: only failures are printed in full, then the summary.
timeout 300 build-gpu/critic_cuda_test --gtest_brief=1 2>&1 | tee "$out/critic_cuda_test.log" |
  tail -n 60
test_status=${PIPESTATUS[0]}

if [[ -n "${DD_BASELINE_SOURCE:-}" ]]; then
  wait "$baseline_pid" || { echo "baseline build failed"; tail -n 30 "$baseline_log"; }
fi
runs=${DD_BENCH_RUNS:-2}
bench_args=(--device=cuda:0 --ratings="${DD_BENCH_RATINGS:-10}" --repeats=200)
for run in $(seq 1 "$runs"); do
  if [[ -x build-gpu-baseline/tests/bench/critic/dd_critic_bench ]]; then
    echo "== baseline, run $run"
    timeout 120 build-gpu-baseline/tests/bench/critic/dd_critic_bench "${bench_args[@]}" \
      2>&1 | tee -a "$out/bench-baseline.txt"
  fi
  echo "== this tree, run $run"
  extra=()
  [[ $run == 1 ]] && extra=(--breakdown=1)
  timeout 120 build-gpu/tests/bench/critic/dd_critic_bench "${bench_args[@]}" \
    --cuda_graphs=on,off "${extra[@]}" 2>&1 | tee -a "$out/bench.txt"
  # Scoring at dd-critic's largest batch (256 clips, pieces of 64 whose copies overlap), with
  # and without cuDNN timing its algorithms; training once only.
  for cudnn_benchmark in 1 0; do
    echo "== this tree, run $run, --batch=256 --cudnn_benchmark=$cudnn_benchmark"
    timeout 120 build-gpu/tests/bench/critic/dd_critic_bench --device=cuda:0 --ratings=1 \
      --repeats=200 --precisions=float32 --batch=256 --cuda_graphs=on,off \
      --cudnn_benchmark="$cudnn_benchmark" 2>&1 | grep -E "score|the same" |
      tee -a "$out/bench-256.txt"
  done
done
echo "critic_cuda_test exit status: $test_status"
exit "$test_status"
