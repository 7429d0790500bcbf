"""Command line entry point: ``/usr/bin/python3 -m cosyvoice_export <command> [options]``.

Commands live in their own modules and are imported only when selected, so that a
command which does not need torch does not pay for importing it.  To add a command,
add one line to ``COMMANDS``; the module must define

* ``HELP``: a one-line description,
* ``add_arguments(parser: argparse.ArgumentParser) -> None``,
* ``main(args: argparse.Namespace) -> int``: the exit status.
"""

import argparse
import importlib
import sys
from typing import Dict, List, Optional

# command name -> module (relative to this package) implementing it
COMMANDS: Dict[str, str] = {
    "tiny": ".tiny",
    "export": ".export",
    "reference": ".reference",
    "goldens": ".goldens",
    "bench": ".bench",
    "quantize": ".quantize",
    "variant": ".variant",
    "variant-goldens": ".variant_goldens",
}


def _load(name: str):
    return importlib.import_module(COMMANDS[name], __package__)


def build_parser(selected: Optional[str] = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m cosyvoice_export",
        description="cosyvoice-ort Python tools (reference model, export, test assets)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if selected is not None and name != selected:
            # keep the listing cheap: only the chosen command's module is imported
            sub.add_parser(name)
            continue
        mod = _load(name)
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    selected = argv[0] if argv and argv[0] in COMMANDS else None
    if selected is None and argv and not argv[0].startswith("-"):
        build_parser("").print_usage(sys.stderr)
        print(f"error: unknown command {argv[0]!r}; known: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    parser = build_parser(selected if selected else None)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    return int(_load(args.command).main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
