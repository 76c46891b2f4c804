#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks iopf-sim against its scenarios.

  check-scenarios.py golden  SIM FILE.sim      text trace == FILE.trace
  check-scenarios.py json    SIM DIR           every line parses, fields documented
  check-scenarios.py svg     SIM DIR           well-formed XML, one arrow per event
  check-scenarios.py mermaid SIM DIR           a sequenceDiagram, one message per event
  check-scenarios.py threads SIM DIR           scenarios marked '# sim: threads' pass
                                               with --threads 4 (and 1), 'manual:'
                                               lines skipped
  check-scenarios.py errors  SIM DIR           each bad scenario fails at its line
  check-scenarios.py fuzz    SIM DIR           truncated/garbled input: clean errors
  check-scenarios.py quotes  SIM GUIDE.md      every trace line the guide quotes is
                                               in a golden trace or Mermaid output,
                                               and every scenario has a lesson
  check-scenarios.py update  SIM DIR           rewrite the golden traces
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

# docs/trace-json.md: every event object has exactly these keys.
JSON_FIELDS = ["seq", "type", "from", "to", "iommu", "device", "dev_id", "pasid",
               "grpid", "flags", "flag_names", "perm", "perm_names", "addr", "code",
               "code_name", "origin", "ret", "count", "name", "desc"]
LAYERS = {"endpoint", "hw", "driver", "core", "handler", "user"}


def run(sim, args, stdin=None):
    return subprocess.run([sim] + args, input=stdin, capture_output=True, timeout=60)


def scenarios(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".sim"))


def sanitizer_report(p):
    err = p.stderr.decode("utf-8", "replace")
    return "Sanitizer" in err or "runtime error" in err or p.returncode < 0


def check_golden(sim, path):
    p = run(sim, [path])
    if p.returncode != 0:
        sys.exit("%s: exit %d\n%s" % (path, p.returncode, p.stderr.decode()))
    golden = path[:-4] + ".trace"
    with open(golden, "rb") as f:
        want = f.read()
    if p.stdout != want:
        import difflib
        diff = difflib.unified_diff(want.decode().splitlines(), p.stdout.decode().splitlines(),
                                    golden, "iopf-sim output", lineterm="")
        sys.exit("\n".join(diff))


def update(sim, d):
    for path in scenarios(d):
        p = run(sim, [path])
        if p.returncode != 0:
            sys.exit("%s: exit %d\n%s" % (path, p.returncode, p.stderr.decode()))
        with open(path[:-4] + ".trace", "wb") as f:
            f.write(p.stdout)


def count_events(sim, path):
    p = run(sim, ["--format", "json", path])
    return sum(1 for line in p.stdout.decode().splitlines() if line.startswith('{"seq"'))


def check_json(sim, d):
    for path in scenarios(d):
        p = run(sim, ["--format", "json", path])
        if p.returncode != 0:
            sys.exit("%s: exit %d" % (path, p.returncode))
        seq = 0
        for n, line in enumerate(p.stdout.decode("ascii").splitlines(), 1):
            obj = json.loads(line)
            if "note" in obj:
                assert list(obj) == ["note"] and isinstance(obj["note"], str), (path, n)
                continue
            assert list(obj) == JSON_FIELDS, (path, n, list(obj))
            assert obj["seq"] > seq, (path, n)
            seq = obj["seq"]
            assert obj["from"] in LAYERS and obj["to"] in LAYERS, (path, n)
            assert obj["type"] != "unknown", (path, n)
            assert re.fullmatch(r"0x[0-9a-f]+", obj["addr"]), (path, n)
            assert obj["pasid"] is None or 0 <= obj["pasid"] < 1 << 20, (path, n)
            assert (obj["code"] is None) == (obj["code_name"] is None) or \
                obj["code_name"] is None, (path, n)
            if obj["type"] == "response_sent":
                assert obj["code"] is not None and obj["origin"] != "none", (path, n)


def check_svg(sim, d):
    for path in scenarios(d):
        p = run(sim, ["--format", "svg", path])
        if p.returncode != 0:
            sys.exit("%s: exit %d" % (path, p.returncode))
        root = ET.fromstring(p.stdout)
        assert root.tag == "{http://www.w3.org/2000/svg}svg", path
        assert b"<script" not in p.stdout and b"href=\"http" not in p.stdout, path
        arrows = p.stdout.count(b"marker-end=")
        assert arrows == count_events(sim, path), (path, arrows)


def check_mermaid(sim, d):
    for path in scenarios(d):
        p = run(sim, ["--format", "mermaid", path])
        if p.returncode != 0:
            sys.exit("%s: exit %d" % (path, p.returncode))
        lines = p.stdout.decode().splitlines()
        assert lines[0] == "sequenceDiagram", path
        msgs = [l for l in lines if re.match(r"    \w+-?-?>>\w+: ", l)]
        assert len(msgs) == count_events(sim, path), path
        for l in lines:
            assert ";" not in l and "#" not in l, (path, l)


def check_threads(sim, d):
    done = 0
    for path in scenarios(d):
        with open(path) as f:
            if "# sim: threads" not in f.read():
                continue
        for n in (4, 4, 4, 1):
            p = run(sim, ["--threads", str(n), path])
            if p.returncode != 0 or sanitizer_report(p):
                sys.exit("%s --threads %d: exit %d\n%s" % (path, n, p.returncode,
                                                         p.stderr.decode()))
        done += 1
    if not done:
        sys.exit("no scenario is marked '# sim: threads'")


def check_errors(sim, d):
    """Each file starts with '# error: LINE: TEXT': exit 1, 'file:LINE: ...TEXT'."""
    for path in scenarios(d):
        with open(path) as f:
            m = re.match(r"# error: (\d+): (.*)", f.readline())
        assert m, "%s: no '# error:' header" % path
        p = run(sim, [path])
        err = p.stderr.decode()
        want = "%s:%s: " % (path, m.group(1))
        if p.returncode != 1 or want not in err or m.group(2) not in err or \
                sanitizer_report(p):
            sys.exit("%s: expected exit 1 and '%s...%s', got exit %d:\n%s" %
                     (path, want, m.group(2), p.returncode, err))


def mutations(data, rnd):
    lines = data.split(b"\n")
    for i in range(0, len(data), max(1, len(data) // 40)):
        yield data[:i]                                   # truncated anywhere
    for _ in range(60):
        b = bytearray(data)
        for _ in range(rnd.randint(1, 8)):               # garbled bytes
            b[rnd.randrange(len(b))] = rnd.choice(b"\x00\xff =#0x-9azZ\t\n\r%s")
        yield bytes(b)
    for _ in range(30):
        l = list(lines)
        i, j = rnd.randrange(len(l)), rnd.randrange(len(l))
        op = rnd.randrange(4)
        if op == 0:
            del l[i]                                     # a step missing
        elif op == 1:
            l.insert(i, l[j])                            # a step twice
        elif op == 2:
            l[i], l[j] = l[j], l[i]                      # steps swapped
        else:
            toks = l[i].split()
            if toks:
                toks[rnd.randrange(len(toks))] = rnd.choice(
                    [b"", b"=", b"0xffffffffffffffffff", b"-1", b"pasid=", b"x" * 300,
                     b"99999999999", b"last", b"bare"])
                l[i] = b" ".join(toks)
        yield b"\n".join(l)
    yield b"\n" * 10000
    yield b"x" * 100000
    yield bytes(rnd.randrange(256) for _ in range(4096))


def check_fuzz(sim, d):
    """Deterministic cases, in a fixed order; a slow build (TSan, valgrind)
    stops after FUZZ_BUDGET seconds (default 120) with the cases run so far."""
    rnd = random.Random(1234)
    budget = float(os.environ.get("FUZZ_BUDGET", "120"))
    start = time.monotonic()
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        f = os.path.join(tmp, "case.sim")
        for path in scenarios(d):
            with open(path, "rb") as fp:
                data = fp.read()
            for m in mutations(data, rnd):
                if time.monotonic() - start > budget:
                    break
                with open(f, "wb") as out:
                    out.write(m)
                p = run(sim, [f])
                if p.returncode not in (0, 1) or sanitizer_report(p):
                    keep = os.path.join(os.getcwd(), "iopf-sim-crash.sim")
                    with open(keep, "wb") as out:
                        out.write(m)
                    sys.exit("%s mutated: exit %d (input saved as %s)\n%s" %
                             (path, p.returncode, keep, p.stderr.decode("utf-8", "replace")))
                if p.returncode == 1 and not re.search(rb"^\S+:\d+: ", p.stderr, re.M):
                    sys.exit("%s mutated: failed without 'file:line:'\n%s" %
                             (path, p.stderr.decode("utf-8", "replace")))
                n += 1
    print("%d mutated scenarios ran cleanly" % n)


def check_quotes(sim, guide):
    """Quoted trace lines and Mermaid messages must be real output."""
    d = os.path.join(os.path.dirname(os.path.abspath(guide)), "..", "examples", "scenarios")
    if not os.path.isdir(d):  # a translation: docs/translations/zh_CN/
        d = os.path.join(os.path.dirname(os.path.abspath(guide)), "..", "..", "..",
                         "examples", "scenarios")
    text, mermaid = set(), set()
    for path in scenarios(d):
        with open(path[:-4] + ".trace") as f:
            text.update(f.read().splitlines())
        p = run(sim, ["--no-echo", "--format", "mermaid", path])
        mermaid.update(p.stdout.decode().splitlines())
    n = 0
    with open(guide, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if line.startswith("iopf: ") or re.match(r"# \d+: ", line):
                ok = line.rstrip("\n") in text
            elif re.match(r"    \w+-?-?>>\w+: ", line):
                ok = line.rstrip("\n") in mermaid
            else:
                continue
            if not ok:
                sys.exit("%s:%d: not in any scenario's output:\n%s" % (guide, i, line))
            n += 1
    if n < 10:
        sys.exit("%s: only %d quoted lines found" % (guide, n))
    with open(guide, encoding="utf-8") as f:
        body = f.read()
    for path in scenarios(d):  # every lesson has its section
        if os.path.basename(path) not in body:
            sys.exit("%s: no lesson links %s" % (guide, os.path.basename(path)))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    mode, sim, arg = sys.argv[1:]
    {"golden": check_golden, "json": check_json, "svg": check_svg,
     "mermaid": check_mermaid, "threads": check_threads, "errors": check_errors,
     "fuzz": check_fuzz, "quotes": check_quotes, "update": update}[mode](sim, arg)


if __name__ == "__main__":
    main()
