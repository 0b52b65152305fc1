#!/usr/bin/env python3
"""Rewrites README.md's table of implemented operations by family (between the
`<!-- implemented-operations -->` markers) from the dispatch table of crates/ec2d/src/service/mod.rs.
crates/ec2d/tests/readme.rs fails when the table and the implemented operations disagree."""
import collections
import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
START, END = "<!-- implemented-operations:start -->", "<!-- implemented-operations:end -->"


def families():
    src = open(os.path.join(ROOT, "crates/ec2d/src/service/mod.rs")).read()
    body = src[src.index("fn dispatch"):]
    out = collections.OrderedDict()
    for m in re.finditer(r"Q::(\w+)\(r\)\s*=>\s*(.*?)(?=\n\s*Q::|\n\s*\}\)\s*\n\})", body, re.S):
        module = re.search(r"(\w+)::\w+\(ctx", m.group(2))
        out.setdefault(module.group(1) if module else "?", []).append(m.group(1))
    return out


def main():
    fams = families()
    total = sum(len(v) for v in fams.values())
    ops_rs = open(os.path.join(ROOT, "crates/ec2-protocol/src/generated/ops.rs")).read()
    all_ops = int(re.search(r"ALL_OPERATIONS: \[&str; (\d+)\]", ops_rs).group(1))
    lines = [START, "", f"{total} operations implemented; the other {all_ops - total} of the model's {all_ops} answer `NotImplemented`.", "",
             "| family (service module) | operations |", "|---|---|"]
    for fam in sorted(fams):
        lines.append(f"| `{fam}` | {', '.join(sorted(fams[fam]))} |")
    lines += ["", END]
    path = os.path.join(ROOT, "README.md")
    text = open(path).read()
    a, b = text.index(START), text.index(END) + len(END)
    open(path, "w").write(text[:a] + "\n".join(lines) + text[b:])


if __name__ == "__main__":
    main()
