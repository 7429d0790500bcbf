#!/usr/bin/env python3
"""Writes the usage example from a public header's opening comment as a compilable program.

    header_example.py HEADER OUT_SOURCE

The example is the run of comment lines indented by three spaces that starts with
`#include <cosyvoice/...>` ("//   " in C++ headers, " *   " in C ones). Its #include lines go on
top, the rest into main(). The build compiles the result (C11 and C++17 for cosyvoice_c.h, C++17
for cosyvoice.h), so a header whose example no longer compiles fails the build.
"""
import re
import sys

PREFIX = re.compile(r"^(//| \*)   (.*)$")


def extract(text):
    lines = text.splitlines()
    for start, line in enumerate(lines):
        m = PREFIX.match(line)
        if m and m.group(2).startswith("#include <cosyvoice/"):
            break
    else:
        raise SystemExit("no example (a comment line '#include <cosyvoice/...>') found")
    body = []
    for line in lines[start:]:
        m = PREFIX.match(line)
        if not m:
            break
        body.append(m.group(2))
    return body


def main():
    header, out = sys.argv[1], sys.argv[2]
    with open(header, encoding="utf-8") as f:
        body = extract(f.read())
    includes = [l for l in body if l.startswith("#include")]
    code = [l for l in body if not l.startswith("#include")]
    if len(code) < 3:
        raise SystemExit(f"{header}: the example has only {len(code)} lines of code")
    program = [f"/* generated from {header} by tests/capi/header_example.py */", "#include <stdio.h>", *includes,
               "int main(void) {", *("  " + l for l in code), "  return 0;", "}", ""]
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(program))


if __name__ == "__main__":
    main()
