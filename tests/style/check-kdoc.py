#!/usr/bin/env python3
"""Kernel-doc presence check on every function declared in the public
headers: a /** comment naming the function ("name() - summary"), describing
every parameter (@name:), and carrying Context: and Return: lines (Return:
may be omitted for void functions)."""
import re
import sys
from pathlib import Path

PROTO = re.compile(r"^(?:[A-Za-z_][\w \t\*]*?[\s\*])(iopf_\w+)\s*\(([^;{]*?)\)\s*;", re.M | re.S)


def params(arglist):
    names = []
    for a in arglist.split(","):
        a = re.sub(r"\[[^\]]*\]", "", a).strip()
        if a in ("void", ""):
            continue
        m = re.search(r"\(\s*\*\s*(\w+)\s*\)", a)  # function pointer
        names.append(m.group(1) if m else re.findall(r"\w+", a)[-1])
    return names


def check(path):
    text = Path(path).read_text()
    problems = []
    for m in PROTO.finditer(text):
        name, args = m.group(1), m.group(2)
        before = text[:m.start()].rstrip()
        if not before.endswith("*/"):
            problems.append(f"{path}: {name}: no doc comment")
            continue
        doc = before[before.rfind("/**"):]
        if f"{name}() - " not in doc:
            problems.append(f"{path}: {name}: doc does not start with '{name}() - '")
        for p in params(args):
            if f"@{p}:" not in doc:
                problems.append(f"{path}: {name}: @{p} not described")
        if "Context:" not in doc:
            problems.append(f"{path}: {name}: no Context: line")
        void = re.match(r"^\s*(?:static\s+)?void\s+", m.group(0)) is not None
        if not void and "Return:" not in doc:
            problems.append(f"{path}: {name}: no Return: line")
    return problems, len(list(PROTO.finditer(text)))


def main():
    total, problems = 0, []
    for p in sorted(Path(sys.argv[1]).rglob("*.h")):
        prob, n = check(p)
        problems += prob
        total += n
    for p in problems:
        print(p)
    print(f"{total} public functions checked, {len(problems)} problems")
    return 1 if problems or total == 0 else 0


sys.exit(main())
