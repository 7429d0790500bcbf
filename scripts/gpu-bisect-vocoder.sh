#!/bin/bash
# Usage: TINY_BUNDLE=models/tiny/bundle BIN=build/bin scripts/gpu-bisect-vocoder.sh (on a machine with a GPU)
# Which operator types of the HiFT generator does ORT 1.30's WebGPU provider get wrong? Each type's
# nodes are forced to the CPU in turn (webgpu.forceCpuNodeNames) and the vocoder goldens rerun.
work=$(mktemp -d); trap "rm -rf $work" EXIT
gen=$(python3 -c "import json;c=json.load(open('${TINY_BUNDLE:-models/tiny/bundle}/config.json'));print(c['hift']['generator'])")
echo "generator graph: $gen"
python3 - ${TINY_BUNDLE:-models/tiny/bundle}/$gen $work > $work/ops.txt <<'PY'
import collections, onnx, sys
m = onnx.load(sys.argv[1], load_external_data=False)
d = collections.defaultdict(list)
for n in m.graph.node:
    d[n.op_type].append(n.name)
for op, names in sorted(d.items(), key=lambda x: -len(x[1])):
    open(f"{sys.argv[2]}/nodes_{op}.txt", "w").write("\n".join(names))
    print(op, len(names), sum(1 for x in names if not x))
PY
cat $work/ops.txt | tr '\n' ';'; echo
for op in ALL_GPU $(awk '{print $1}' $work/ops.txt); do
  opts=""; [ $op != ALL_GPU ] && opts="webgpu.forceCpuNodeNames=$(cat $work/nodes_$op.txt)"
  COSYVOICE_TINY=$(dirname ${TINY_BUNDLE:-models/tiny/bundle}) COSYVOICE_TEST_PROVIDERS=webgpu,cpu COSYVOICE_TEST_VOCODER_ON_WEBGPU=1 \
    COSYVOICE_TEST_PROVIDER_OPTIONS="$opts" timeout 60 ${BIN:-build/bin}/cosyvoice_engine_golden_tests \
    --gtest_filter=EngineGolden.VocoderStages > $work/b_$op.log 2>&1
  echo "cpu:$op rc=$? $(grep -m1 'hift spectrum real' $work/b_$op.log | grep -o 'max_rel [0-9.e+-]*') wav $(grep -m1 'vocoder waveform' $work/b_$op.log | grep -o 'max_abs [0-9.e+-]*')"
done
