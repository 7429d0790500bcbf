#!/usr/bin/env python3
"""Checks the dynamic symbols of libcosyvoice.so against the public headers.

    check_exports.py LIBRARY INCLUDE_DIR SONAME

- the SONAME is the expected one;
- the exported C functions are exactly the functions cosyvoice/cosyvoice_c.h declares;
- every exported C++ symbol is in namespace cosyvoice, names a function (or the exception type's
  typeinfo/vtable) that the public headers declare, and belongs to no internal class (Impl, State);
- nothing else is exported: no ONNX Runtime, libstdc++ template, nlohmann, ICU or internal symbol.
"""
import glob
import os
import re
import subprocess
import sys

CXX_SPECIAL = re.compile(r"^(typeinfo for |typeinfo name for |vtable for )(cosyvoice::Error)$")
INTERNAL_CLASSES = {"Impl", "State"}


def dynamic_symbols(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True, capture_output=True, text=True).stdout
    names = [line.split()[-1] for line in out.splitlines() if line.strip()]
    demangled = subprocess.run(["c++filt"], input="\n".join(names), check=True, capture_output=True,
                               text=True).stdout.splitlines()
    return list(zip(names, demangled))


def soname(lib):
    out = subprocess.run(["readelf", "-d", lib], check=True, capture_output=True, text=True).stdout
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
    return m.group(1) if m else None


def qualified_name(demangled):
    """'cosyvoice::Model::Load(cosyvoice::ModelConfig const&)' -> ['cosyvoice', 'Model', 'Load']"""
    depth, end = 0, len(demangled)
    for i, ch in enumerate(demangled):  # the first '(' outside template brackets
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "(" and depth == 0:
            end = i
            break
    name = re.sub(r"\[abi:[^\]]*\]", "", demangled[:end])
    return name.split("::")


def main():
    lib, include_dir, expected_soname = sys.argv[1:4]
    problems = []
    if soname(lib) != expected_soname:
        problems.append(f"SONAME is {soname(lib)!r}, expected {expected_soname!r}")

    headers = {os.path.basename(p): open(p, encoding="utf-8").read()
               for p in glob.glob(os.path.join(include_dir, "cosyvoice", "*.h"))}
    c_header = headers.pop("cosyvoice_c.h")
    declared_c = set(re.findall(r"COSYVOICE_C_API\s[^;(]*?\b(cosyvoice_\w+)\s*\(", c_header))
    cxx_text = "\n".join(headers.values())

    exported_c, exported_cxx = set(), []
    for raw, demangled in dynamic_symbols(lib):
        if not raw.startswith("_Z"):
            exported_c.add(raw)
            continue
        if CXX_SPECIAL.match(demangled):
            exported_cxx.append(demangled)
            continue
        parts = qualified_name(demangled)
        if parts[0] != "cosyvoice" or len(parts) < 2:
            problems.append(f"exported symbol outside the public API: {demangled}")
            continue
        classes, function = parts[1:-1], parts[-1]
        if INTERNAL_CLASSES.intersection(classes):
            problems.append(f"exported internal class member: {demangled}")
        for cls in classes:
            if not re.search(rf"\b(class|struct)\s+{re.escape(cls)}\b", cxx_text):
                problems.append(f"exported member of a class the public headers do not define: {demangled}")
        if not re.search(rf"(?<![\w~]){re.escape(function)}\s*\(", cxx_text):
            problems.append(f"exported function the public headers do not declare: {demangled}")
        exported_cxx.append(demangled)

    for name in sorted(exported_c - declared_c):
        problems.append(f"exported C symbol not declared in cosyvoice_c.h: {name}")
    for name in sorted(declared_c - exported_c):
        problems.append(f"cosyvoice_c.h declares {name}, but the library does not export it")
    for needed in ("cosyvoice::Model::Load", "cosyvoice::Session::Synthesize", "cosyvoice::Voice::Save"):
        if not any(d.startswith(needed + "(") for d in exported_cxx):
            problems.append(f"public C++ function not exported: {needed}")

    if problems:
        print("\n".join(problems))
        return 1
    print(f"{os.path.basename(lib)} ({expected_soname}): {len(exported_c)} C functions (= cosyvoice_c.h) and "
          f"{len(exported_cxx)} C++ symbols of the public headers exported; nothing else")
    for d in sorted(exported_cxx):
        print("  " + d)
    return 0


if __name__ == "__main__":
    sys.exit(main())
