#!/usr/bin/env python3
"""docs/api.md shows each example program verbatim: a fenced code block equal to the file (or to
the file without its opening `//` comment lines, which the docs' prose replaces).

    check_doc_examples.py DOC EXAMPLE...

The examples are what the tests build and run (examples/, tests/capi/install_consumer.sh,
python/tests/test_binding.py), so the docs cannot drift from code that works.
"""
import re
import sys


def main():
    doc, examples = sys.argv[1], sys.argv[2:]
    text = open(doc, encoding="utf-8").read()
    blocks = [m.group(1) for m in re.finditer(r"^```[a-z+]*\n(.*?)^```$", text, re.S | re.M)]
    missing = []
    for path in examples:
        code = open(path, encoding="utf-8").read()
        lines = code.splitlines(keepends=True)
        while lines and lines[0].startswith("//"):
            lines.pop(0)
        if not any(block in (code, "".join(lines)) for block in blocks):
            missing.append(path)
    for path in missing:
        print(f"{doc}: no code block equals {path} (copy the file into the docs verbatim)")
    if not missing:
        print(f"{doc}: {len(examples)} examples shown verbatim")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
