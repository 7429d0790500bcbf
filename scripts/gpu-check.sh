#!/usr/bin/env bash
# scripts/gpu-check.sh - the GPU check of docs/gpu.md, for a machine with a GPU (any vendor):
#   1. puts the Vulkan loader and GL dispatch libraries in place when they are missing (Dawn, which
#      ONNX Runtime's WebGPU provider uses, needs both),
#   2. checks that ONNX Runtime finds a WebGPU adapter,
#   3. runs the golden parity tier with COSYVOICE_TEST_PROVIDERS=webgpu,cpu (tolerances: docs/gpu.md),
#   4. runs `cosyvoice bench` on a bundle: cpu vs webgpu, offline and streaming, fp32 and, where
#      the bundle has one, the fp16 variant; prints a table and writes JSON per run.
#
# Usage: scripts/gpu-check.sh [--bundle DIR] [--out DIR] [--bin DIR] [--tiny DIR] [--tokens N]
#                             [--cpu-threads N] [--skip-goldens] [--skip-bench]
#   --bundle DIR   bundle to benchmark (default: the tiny model; use the full-size one for figures)
#   --bin DIR      where cosyvoice and the golden test binaries are (default build/bin; built if absent)
#   --tiny DIR     tiny model dir with bundle/ and goldens/ (default models/tiny; made if absent)
#   --out DIR      where logs and JSON go (default build/gpu-check)
#   --tokens N     speech tokens per bench run (default 125 = 5 s of audio)
#   --runs N       timed runs per configuration, after one warm-up (default 2; the median is shown)
#   --prompt-wav F --prompt-text T   the voice (default: alsa-utils' Front_Center.wav, "Front center.")
# Environment: VK_DRIVER_FILES (set to NVIDIA's ICD file when found under /usr/local/nvidia),
#   GPU_CHECK_DEBS=DIR: unpack the .deb files there into a private prefix instead of apt-get.
# Exit status: 0 when every step that ran passed; 1 when a step failed; 2 on bad usage.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bundle="" out="$root/build/gpu-check" bin="$root/build/bin" tiny="$root/models/tiny" tokens=125
cpu_threads=0 skip_goldens=0 skip_bench=0 runs=2
prompt=/usr/share/sounds/alsa/Front_Center.wav prompt_text="Front center."
while (($#)); do
  case "$1" in
    --bundle) bundle=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --tiny) tiny=$2; shift 2 ;;
    --tokens) tokens=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --prompt-wav) prompt=$2; shift 2 ;;
    --prompt-text) prompt_text=$2; shift 2 ;;
    --cpu-threads) cpu_threads=$2; shift 2 ;;
    --skip-goldens) skip_goldens=1; shift ;;
    --skip-bench) skip_bench=1; shift ;;
    -h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
start=$(date +%s)
phase() { echo "[gpu-check +$(($(date +%s) - start))s] $*"; }
failed=0

# ---- 1. Vulkan loader + GL dispatch (Dawn loads libvulkan.so.1 and, through EGL, libGL*) ---------
vulkan_libs=(libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2)
if ! ldconfig -p | grep 'libvulkan\.so\.1 ' >/dev/null; then
  if [[ -n "${GPU_CHECK_DEBS:-}" ]]; then
    prefix="$out/vulkan-prefix"
    for f in "$GPU_CHECK_DEBS"/*.deb; do dpkg -x "$f" "$prefix"; done
    export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    phase "Vulkan loader unpacked from $GPU_CHECK_DEBS into $prefix"
  elif command -v apt-get >/dev/null; then
    phase "installing the Vulkan loader: ${vulkan_libs[*]}"
    apt-get -o DPkg::Lock::Timeout=600 install -y -q "${vulkan_libs[@]}" >"$out/apt.log" 2>&1 ||
      { echo "gpu-check: apt-get could not install ${vulkan_libs[*]} (see $out/apt.log)" >&2; exit 1; }
  else
    echo "gpu-check: libvulkan.so.1 not found and no apt-get: install the Vulkan loader (${vulkan_libs[*]})" >&2
    exit 1
  fi
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [[ -z "${VK_DRIVER_FILES:-}" && -f "$nvidia_icd" ]]; then export VK_DRIVER_FILES=$nvidia_icd; fi
phase "VK_DRIVER_FILES=${VK_DRIVER_FILES:-<loader default>}"

# ---- 2. binaries, tiny model, adapter probe --------------------------------------------------------
if [[ ! -x "$bin/cosyvoice" ]]; then phase "building (make build)"; make -C "$root" build; fi
if [[ ! -f "$tiny/goldens/manifest.json" && ! -f "$tiny/bundle/config.json" ]]; then
  phase "making the tiny model (make tiny-model)"; make -C "$root" tiny-model
fi
cli="$bin/cosyvoice"
"$cli" version | tee "$out/version.txt"
probe_log="$out/probe.log"
"$cli" bench -m "$tiny/bundle" --prompt-wav "$prompt" --prompt-text "$prompt_text" --provider webgpu,cpu --runs 1 --warmup 0 --tokens 25 --json \
  >"$out/probe.json" 2>"$probe_log" || true
if grep -q '"webgpu"' "$out/probe.json" 2>/dev/null; then
  phase "WebGPU adapter found"
else
  echo "gpu-check: ONNX Runtime's WebGPU provider found no usable adapter:" >&2
  tail -8 "$probe_log" >&2
  exit 1
fi

# ---- 3. golden tier on the GPU -----------------------------------------------------------------
if ((!skip_goldens)); then
  filter=()
  # The LLM variants' goldens come from `make tiny-model` (goldens-q); skipped where absent.
  [[ -f "$tiny/goldens-q/manifest.json" ]] || filter=(--gtest_filter=-*LlmVariantGolden*:*FusedFp32*)
  for t in cosyvoice_engine_golden_tests; do
    phase "golden tier: $t with webgpu,cpu ${filter[*]}"
    if COSYVOICE_TINY="$tiny" COSYVOICE_TEST_PROVIDERS=webgpu,cpu "$bin/$t" --gtest_brief=1 "${filter[@]}" \
        >"$out/$t.log" 2>&1; then
      phase "  passed ($(grep -c '^PARITY' "$out/$t.log") parity lines in $out/$t.log)"
    else
      failed=1
      phase "  FAILED: $(grep -E '^\[  FAILED  \]' "$out/$t.log" | sort -u | head -20 | tr '\n' ' ')"
    fi
  done
fi

# ---- 4. bench: cpu vs webgpu, offline and streaming, fp32 and fp16 -----------------------------
if ((!skip_bench)); then
  bench_bundle=${bundle:-$tiny/bundle}
  # fp32 = the bundle's base graphs; then, where the bundle has them (docs/bundle.md §7), the fused
  # fp32 LLM (its KV cache stays on the GPU) and every fp16 variant.
  mapfile -t precisions < <(python3 - "$bench_bundle/config.json" <<'EOF'
import json, sys
variants = json.load(open(sys.argv[1])).get("variants", {})
print("fp32")
if any(v["name"] == "fp32-fused" for v in variants.get("llm", [])):
    print("llm=fp32-fused")
fp16 = [f"{fam}={v['name']}" for fam, vs in variants.items() for v in vs if v.get("precision") == "fp16"]
if fp16:
    print(",".join(fp16))
EOF
  )
  printf '%-8s %-16s %-9s %8s %8s %9s %8s %8s %8s\n' provider prec mode load_s rtf tok/s first_s flow_s voc_s \
    | tee "$out/bench.txt"
  for provider in cpu webgpu,cpu; do
    for prec in "${precisions[@]}"; do
      [[ "$provider" == cpu && "$prec" != fp32 ]] && continue  # the CPU row is the fp32 reference
      for mode in offline stream; do
        name="${provider%%,*}-${prec//[=,]/_}-$mode"
        args=(bench -m "$bench_bundle" --prompt-wav "$prompt" --prompt-text "$prompt_text" --provider "$provider" --runs "$runs" --warmup 1 --tokens "$tokens" --json)
        [[ "$provider" == cpu ]] && args+=(--threads "$cpu_threads")
        [[ "$prec" != fp32 ]] && args+=(--precision "$prec")
        [[ "$mode" == stream ]] && args+=(--stream)
        if "$cli" "${args[@]}" >"$out/$name.json" 2>"$out/$name.log"; then
          python3 - "$out/$name.json" "$provider" "$prec" "$mode" <<'EOF' | tee -a "$out/bench.txt"
import json, sys
j = json.load(open(sys.argv[1]))
print("%-8s %-16s %-9s %8.2f %8.3f %9.1f %8.3f %8.3f %8.3f" % (sys.argv[2].split(",")[0], sys.argv[3], sys.argv[4],
      j["load_seconds"], j["rtf"], j["tokens_per_second"], j["first_audio_seconds"], j["flow_seconds"],
      j["vocoder_seconds"]))
EOF
        else
          failed=1
          echo "$name: FAILED (see $out/$name.log)" | tee -a "$out/bench.txt"
        fi
      done
    done
  done
fi
phase "done; results in $out"
exit $failed
