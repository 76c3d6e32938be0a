#!/usr/bin/env bash
# Builds the OpenCL module, runs its OpenCL test suites on the chosen device (failing, not skipping, when there is
# none), then benchmarks Adam, AdamW and SGD-momentum against the single-thread CPU path of the same run.
#
#   operators/opencl/gpu-benchmark.sh [--sizes 1Mi,16Mi,64Mi,256Mi] [--platform NVIDIA] [--device-type gpu]
#                                     [--device 0] [--iterations 10] [--offline] [--skip-tests]
#
# Needs JDK 17, Maven (with network, or --offline and a filled ~/.m2) and an OpenCL ICD for the device; 256 Mi
# parameters take ~8 GiB of host heap (JAVA_OPTS, default -Xmx24g) and ~5 GiB of device memory.
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZES=1Mi,16Mi,64Mi,256Mi
ITERATIONS=10
MVN=(mvn -B -q)
RUN_TESTS=1
BENCH_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) SIZES=$2; shift 2 ;;
    --iterations) ITERATIONS=$2; shift 2 ;;
    --platform) export GRADSTREAM_OPENCL_PLATFORM=$2; BENCH_ARGS+=(--platform "$2"); shift 2 ;;
    --device-type) export GRADSTREAM_OPENCL_DEVICE_TYPE=$2; BENCH_ARGS+=(--device-type "$2"); shift 2 ;;
    --device) export GRADSTREAM_OPENCL_DEVICE=$2; BENCH_ARGS+=(--device "$2"); shift 2 ;;
    --offline) MVN+=(-o); shift ;;
    --skip-tests) RUN_TESTS=0; shift ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) echo "unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

echo "== OpenCL platforms and devices"
if command -v clinfo >/dev/null; then clinfo -l; else echo "(clinfo not installed)"; fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true

echo "== build"
"${MVN[@]}" -pl operators/opencl -am package -DskipTests dependency:build-classpath \
  -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime

if [ "$RUN_TESTS" = 1 ]; then
  echo "== OpenCL contract suite, codecs, noise and forced faults on the device"
  GRADSTREAM_REQUIRE_TOOLS=1 "${MVN[@]}" -pl operators/opencl -am verify -Dtest=NoSuchTest \
    -Dsurefire.failIfNoSpecifiedTests=false -Dit.test='OpenCl*ITCase,SignalChainingITCase'
  echo "passed"
fi

echo "== benchmark"
CP="operators/opencl/target/classes:$(cat operators/opencl/target/classpath.txt)"
# The JDK's signal chaining, without which OpenCL is refused (docs/opencl.md, "Signal chaining").
LD_PRELOAD="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")/lib/libjsig.so"
export LD_PRELOAD
# shellcheck disable=SC2086
java ${JAVA_OPTS:--Xmx24g} -cp "$CP" io.gradstream.opencl.OpenClBenchmark --sizes "$SIZES" \
  --iterations "$ITERATIONS" "${BENCH_ARGS[@]}"
