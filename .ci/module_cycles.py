#!/usr/bin/env python3
"""Finds import cycles between the modules of each crate of the workspace.

    python3 .ci/module_cycles.py            # every crate with a src/ directory
    python3 .ci/module_cycles.py mtproto    # the crates under these folders

A module "uses" a sibling when its code (comments and `#[cfg(test)] mod tests` blocks left
out) names a path through it: `crate::a::b`, `super::b`, or `use crate::{a, b::c}`. Two
siblings that use each other, directly or around a longer loop, are a cycle, reported with
the lines that make each arrow. A module using its own ancestors is not counted: a parent
re-exporting its children and children using the parent's shared items is how Rust crates
are built. Exits 1 if any cycle is found.
"""

import os
import re
import sys
from collections import defaultdict

COMMENT = re.compile(r"//.*$")
TEST_MODULE = re.compile(r"^\s*#\[cfg\(test\)\]\s*$")


def modules_of(src):
    """Maps each .rs file under src to its module path (a tuple; () for the crate root)."""
    out = {}
    for dirpath, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src)[: -len(".rs")].split(os.sep)
            if rel[-1] in ("mod", "lib", "main"):
                rel = rel[:-1]
            if rel and rel[0] == "bin":
                continue
            out[path] = tuple(rel)
    return out


def code_lines(path):
    """The file's lines without comments, and without a trailing test module."""
    lines = []
    with open(path, encoding="utf-8") as f:
        raw = f.read().split("\n")
    for i, line in enumerate(raw):
        if TEST_MODULE.match(line) and i + 1 < len(raw) and raw[i + 1].strip().startswith("mod "):
            break
        lines.append((i + 1, COMMENT.sub("", line)))
    return lines


def paths_in(line, module):
    """Module paths a line names, made absolute from the crate root."""
    found = []
    for m in re.finditer(r"\b(crate|super)((?:::\w+)+|::\{[^}]*\})", line):
        head, rest = m.group(1), m.group(2)
        base = () if head == "crate" else module[:-1]
        if rest.startswith("::{"):
            for item in rest[3:-1].split(","):
                parts = [p for p in item.strip().split("::") if p and p != "self"]
                if parts:
                    found.append(base + tuple(parts))
        else:
            parts = [p for p in rest.split("::") if p]
            while parts and parts[0] == "super":
                base = base[:-1]
                parts = parts[1:]
            found.append(base + tuple(parts))
    return found


def longest_module(path, known):
    for n in range(len(path), 0, -1):
        if path[:n] in known:
            return path[:n]
    return ()


def sccs(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def check_crate(src):
    files = modules_of(src)
    known = set(files.values())
    graph = defaultdict(set)
    why = {}
    for path, module in files.items():
        for number, line in code_lines(path):
            for target in paths_in(line, module):
                target = longest_module(target, known)
                # The arrow between the two children of their nearest common ancestor.
                common = 0
                while common < min(len(module), len(target)) and module[common] == target[common]:
                    common += 1
                if common == len(target) or common == len(module):
                    continue  # the same module, an ancestor, or a descendant
                a, b = module[: common + 1], target[: common + 1]
                graph[a].add(b)
                why.setdefault((a, b), f"{path}:{number}")
    cycles = sccs(graph)
    for comp in cycles:
        names = ["::".join(m) for m in comp]
        print(f"{src}: modules in a cycle: {', '.join(names)}")
        members = set(comp)
        for a in comp:
            for b in sorted(graph[a] & members):
                print(f"    {'::'.join(a)} -> {'::'.join(b)}  ({why[(a, b)]})")
    return len(cycles)


def main():
    roots = sys.argv[1:] or ["."]
    crates = []
    for root in roots:
        for dirpath, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in ("target", "node_modules", ".git") and not d.startswith(".venv")]
            if "Cargo.toml" in files and os.path.isdir(os.path.join(dirpath, "src")):
                crates.append(os.path.join(dirpath, "src"))
    total = sum(check_crate(src) for src in sorted(crates))
    print(f"module cycles: {total} in {len(crates)} crates")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
