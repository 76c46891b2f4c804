#!/usr/bin/env python3
"""Exported-symbol check: every symbol in lib/libiopf.map is declared in a
public header, and the shared library exports exactly the map's symbols.
With --gen FILE, writes a C program that references every symbol (linking it
proves each one resolves)."""
import re
import subprocess
import sys
from pathlib import Path


def map_symbols(path):
    text = re.sub(r"/\*.*?\*/", "", Path(path).read_text(), flags=re.S)
    body = text.split("global:", 1)[1].split("local:", 1)[0]
    return sorted({s.strip() for s in body.split(";") if s.strip()})


def header_text(incdir):
    return "\n".join(p.read_text() for p in sorted(Path(incdir).rglob("*.h")))


def main():
    args = sys.argv[1:]
    gen = None
    if args and args[0] == "--gen":
        gen, args = args[1], args[2:]
    mapfile, incdir = args[0], args[1]
    lib = args[2] if len(args) > 2 else None
    syms = map_symbols(mapfile)
    headers = header_text(incdir)
    bad = [s for s in syms if not re.search(r"\b%s\s*\(" % re.escape(s), headers)]
    for s in bad:
        print(f"not declared in a public header: {s}")
    if gen:
        incs = sorted(p.relative_to(incdir) for p in Path(incdir).rglob("*.h"))
        lines = [f"#include <{p}>" for p in incs]
        lines += ["#include <stdio.h>", "int main(void)", "{",
                  "\tvoid *volatile table[] = {"]
        lines += [f"\t\t(void *){s}," for s in syms]
        lines += ["\t};", '\tprintf("%zu symbols link\\n", sizeof(table) / sizeof(table[0]));',
                  "\treturn 0;", "}"]
        Path(gen).write_text("\n".join(lines) + "\n")
        return 0
    if lib:
        out = subprocess.run(["nm", "-D", "--defined-only", lib],
                             capture_output=True, text=True, check=True).stdout
        exported = {l.split()[-1].split("@")[0] for l in out.splitlines()
                    if l.split()[-2] in ("T", "D", "B", "R")}
        extra = sorted(exported - set(syms))
        missing = sorted(set(syms) - exported)
        for s in extra:
            print(f"exported but not in the map: {s}")
        for s in missing:
            print(f"in the map but not defined: {s}")
        bad += extra + missing
    print(f"{len(syms)} symbols checked, {len(bad)} problems")
    return 1 if bad else 0


sys.exit(main())
