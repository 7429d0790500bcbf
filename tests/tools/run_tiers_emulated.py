#!/usr/bin/env python3
"""Runs a build tree's CTest tiers with every test program under an emulator.

usage: run_tiers_emulated.py BUILD --emulator "qemu-x86_64-static -cpu Haswell-noTSX"
                             [--labels 'unit|golden'] [--exclude REGEX] [--jobs N]

Used by scripts/test-avx2.sh: the x86-64 build's own test programs on an emulated CPU without
AVX-512 (the instruction sets ONNX Runtime's kernels and this project's kernels dispatch on are read
with CPUID, which the emulator answers). CTest runs a tree's tests as they were configured: an
emulator in front of them (CMAKE_CROSSCOMPILING_EMULATOR, which CMake >= 3.29 uses only when
cross-compiling, policy CMP0158) would take a second tree configured and built for it. This runs the
build's own binaries instead, reading its tests from `ctest --show-only=json-v1`:

* fixture setups (FIXTURES_SETUP: goldens and test graphs written by Python, Node or this build's
  tools) run natively first, through ctest, as they do in `make test`;
* the GoogleTest tests run under the emulator (with each test's environment and working directory),
  JOBS processes at a time: a process per golden test, a process per unit test suite;
* any other test (a Python or CMake script) is left out and counted: it runs natively in make test.

Prints what failed as it ends, a line per test program and a summary; exits 1 when a test failed
or a process ended without GoogleTest's verdict, 2 on a usage error.
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple


class Group(NamedTuple):
    """Tests run in one emulated process: one golden test, or one unit suite of one program."""
    program: str
    unit: str      # the test's or the suite's name
    cwd: str
    env: tuple     # "NAME=value" items of the tests' ENVIRONMENT property
    golden: bool


def ctest_json(build, labels, exclude):
    cmd = ["ctest", "--show-only=json-v1", "-L", labels]
    if exclude:
        cmd += ["-E", exclude]
    out = subprocess.run(cmd, cwd=build, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["tests"]


def properties(test):
    return {p["name"]: p["value"] for p in test.get("properties", [])}


def gtest_filter(command):
    for arg in command[1:]:
        if arg.startswith("--gtest_filter="):
            return arg[len("--gtest_filter="):]
    return None


def plan(tests, build_bin):
    """(fixture setup names, {Group: [test names]}, names left out)."""
    setups, groups, left_out = [], {}, []
    for t in tests:
        props = properties(t)
        if "FIXTURES_SETUP" in props:
            setups.append(t["name"])
            continue
        command = t.get("command") or []
        name = gtest_filter(command)
        if not command or os.path.dirname(command[0]) != build_bin or name is None:
            left_out.append(t["name"])
            continue
        env = tuple(sorted(props.get("ENVIRONMENT", [])))
        # Golden tests take seconds to minutes each under emulation: a process each, so that the
        # pool shares them out; unit tests take milliseconds: a process per suite saves start-ups.
        golden = "golden" in props.get("LABELS", [])
        unit = name if golden else name.split(".")[0]
        key = Group(command[0], unit, props.get("WORKING_DIRECTORY", build_bin), env, golden)
        groups.setdefault(key, []).append(name)
    return setups, groups, left_out


def run_group(emulator, group, names):
    env = dict(os.environ)
    env.update(item.partition("=")[::2] for item in group.env)
    cmd = emulator + [group.program, "--gtest_filter=" + ":".join(names), "--gtest_also_run_disabled_tests"]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=group.cwd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    out = proc.stdout + proc.stderr
    passed = len(re.findall(r"^\[       OK \] ", out, re.M))
    skipped = len(re.findall(r"^\[  SKIPPED \] \S+ \(", out, re.M))
    failed = sorted(set(re.findall(r"^\[  FAILED  \] (\S+) \(", out, re.M)))
    verdict = re.search(r"^\[==========\] \d+ tests? from .* ran\.", out, re.M) is not None
    ok = proc.returncode == 0 and verdict and not failed and passed + skipped == len(names)
    return {"program": os.path.basename(group.program), "unit": group.unit, "tests": len(names), "passed": passed,
            "skipped": skipped, "failed": failed, "ok": ok, "seconds": seconds, "code": proc.returncode,
            "output": out}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--emulator", required=True, help="command and arguments put before each test program")
    ap.add_argument("--labels", default="unit|golden")
    ap.add_argument("--exclude", default="", help="regex of test names to leave out (ctest -E)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    build_bin = os.path.join(build, "bin")
    if not os.path.isdir(build_bin):
        print(f"run_tiers_emulated: {build_bin}: no such directory (build the tree first)", file=sys.stderr)
        return 2
    emulator = shlex.split(args.emulator)

    setups, groups, left_out = plan(ctest_json(build, args.labels, args.exclude), build_bin)
    if setups:
        # Natively, as make test runs them; ctest orders them by their own dependencies.
        pattern = "^(" + "|".join(re.escape(s) for s in setups) + ")$"
        setup = subprocess.run(["ctest", "-R", pattern, "--output-on-failure"], cwd=build,
                               capture_output=True, text=True)
        if setup.returncode != 0:
            print(setup.stdout[-4000:] + setup.stderr[-2000:])
            print(f"run_tiers_emulated: the fixture setups failed natively ({len(setups)} of them)")
            return 1
        print(f"fixture setups (native): {len(setups)} passed")

    # Golden tests (the long ones) first, so that the pool does not end waiting on one of them.
    order = sorted(groups.items(), key=lambda kv: (not kv[0].golden, -len(kv[1])))
    results = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_group, emulator, group, names) for group, names in order]
        for f in futures:
            r = f.result()
            results.append(r)
            if not r["ok"]:
                print(r["output"][-6000:])
                print(f"FAILED {r['program']} {r['unit']}: exit status {r['code']}; failed:"
                      f" {', '.join(r['failed']) or 'no GoogleTest verdict, see the output'}", flush=True)
    for program in sorted({r["program"] for r in results}):
        mine = [r for r in results if r["program"] == program]
        print(f"{program}: {sum(r['passed'] for r in mine)} passed, {sum(r['skipped'] for r in mine)} skipped"
              f" of {sum(r['tests'] for r in mine)} ({len(mine)} processes, {sum(r['seconds'] for r in mine):.0f} s)")
    total = sum(r["tests"] for r in results)
    passed = sum(r["passed"] for r in results)
    skipped = sum(r["skipped"] for r in results)
    bad = [r for r in results if not r["ok"]]
    print(f"under the emulator: {passed} passed, {skipped} skipped, {total - passed - skipped} failed or not run"
          f" of {total} tests in {len(results)} processes; {len(left_out)} non-GoogleTest tests left out"
          f" (run natively by make test)")
    return 1 if bad or total == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
