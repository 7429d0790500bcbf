"""Summarises ONNX Runtime chrome-trace profiles: per graph, kernel time and node count by provider,
the top operators, and the host<->device copies (Memcpy nodes)."""
import collections, glob, json, os, sys

for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    events = json.load(open(path))
    runs = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    nodes = [e for e in events if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")]
    if not nodes:
        continue
    by_provider = collections.Counter(); count_provider = collections.Counter()
    by_op = collections.Counter(); count_op = collections.Counter()
    for e in nodes:
        a = e.get("args", {})
        p = a.get("provider", "?"); op = a.get("op_name", "?")
        by_provider[p] += e.get("dur", 0); count_provider[p] += 1
        by_op[(p, op)] += e.get("dur", 0); count_op[(p, op)] += 1
    n = max(len(runs), 1)
    run_ms = sum(e.get("dur", 0) for e in runs) / 1000.0
    print(f"== {os.path.basename(path)}: {len(runs)} runs, {run_ms:.1f} ms in model_run, "
          f"{len(nodes) / n:.0f} kernels per run")
    for p, us in by_provider.most_common():
        print(f"   {p:28s} {us / 1000.0:9.1f} ms  {count_provider[p] / n:7.0f} kernels/run")
    for (p, op), us in by_op.most_common(8):
        print(f"     {op:26s} {p:26s} {us / 1000.0:9.1f} ms  {count_op[(p, op)] / n:6.0f}/run")
    memcpy = sum(c for (p, op), c in count_op.items() if op.startswith("Memcpy"))
    print(f"   Memcpy nodes per run: {memcpy / n:.0f}")
