#!/usr/bin/env python3
"""Checks that the crate's modules import one way: each module uses only modules of its own
layer or of the layers below, and no two modules use each other.

Usage: python3 scripts/layers.py [--graph]   (from the repository root; exit 1 on a violation)

A module is a file under src/ (src/a/b.rs and src/a/b/mod.rs are `a::b`). Its uses are every
path it names through `crate::`, `super::` or `self::` (in `use` items and inline, code only:
comments are skipped), resolved to the longest module prefix. A parent naming its own
descendants is its facade (declaring and re-exporting them) and is not counted; a child naming
its parent is. The layers, lowest first, are LAYERS below: a top-level module belongs to the
layer that lists it.
"""

import os
import re
import sys

# Lowest first. A module may use its own layer and those before it; in the families layer, a
# family uses no other family (what two share belongs to a layer below).
LAYERS = [
    ("base", ["error", "isa", "ulp"]),
    ("simd", ["simd", "convert"]),
    ("math", ["math", "counter"]),
    ("drivers", ["drivers", "element", "parallel"]),
    ("families", ["activation", "optim", "registry", "reference", "rows"]),
    ("compounds", ["loss"]),
    ("face", ["crate", "internals"]),
]

SRC = "src"


def module_of(path):
    rel = os.path.relpath(path, SRC)[: -len(".rs")].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel == ["lib"]:
        return ()
    return tuple(rel)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    for line in text.splitlines():
        # Drop // comments (doc comments included), leaving string literals alone enough for
        # this purpose: paths inside strings are not `crate::` uses we care about.
        i = line.find("//")
        out.append(line if i < 0 else line[:i])
    return "\n".join(out)


def expand_use(body):
    """Flattens a use tree `a::{b, c::{d, e}}` into ['a::b', 'a::c::d', 'a::c::e']."""
    body = re.sub(r"\s+", "", body)
    out = []

    def walk(prefix, s):
        depth, start, parts = 0, 0, []
        for i, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(s[start:i])
                start = i + 1
        parts.append(s[start:])
        for p in parts:
            if not p:
                continue
            m = re.match(r"^(.*?)::\{(.*)\}$", p)
            if m:
                walk(prefix + m.group(1) + "::", m.group(2))
            elif p.startswith("{") and p.endswith("}"):
                walk(prefix, p[1:-1])
            else:
                out.append(prefix + re.sub(r"\bas\w+$", "", p))

    walk("", body)
    return out


def paths_in(text):
    code = strip_comments(text)
    paths = []
    for m in re.finditer(r"\buse\s+([^;]*);", code):
        paths += expand_use(m.group(1))
    for m in re.finditer(r"(?<![\w:])(\$?crate|super|self)((?:::\w+)+)", code):
        paths.append(m.group(1).lstrip("$") + m.group(2))
    return paths


def resolve(mod, path, modules):
    segs = path.split("::")
    if segs[0] == "crate":
        base, rest = (), segs[1:]
    elif segs[0] in ("super", "self"):
        base = mod
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                base = base[:-1]
            segs = segs[1:]
        rest = segs
    else:
        return None
    target = base
    for s in rest:
        if base + (s,) in modules or target + (s,) in modules:
            target = target + (s,)
        else:
            break
    return target


def layer_of(mod):
    top = mod[0] if mod else "crate"
    for i, (_, names) in enumerate(LAYERS):
        if top in names:
            return i
    return None


def main():
    files = []
    for root, _, names in os.walk(SRC):
        files += [os.path.join(root, n) for n in names if n.endswith(".rs")]
    modules = {module_of(f): f for f in files}
    # The root's re-exports: `pub use a::b::{C, D}` names C and D as a::b's.
    with open(modules[()], encoding="utf-8") as fh:
        root = strip_comments(fh.read())
    reexports = {}
    for m in re.finditer(r"\bpub\s+use\s+([^;]*);", root):
        for p in expand_use(m.group(1)):
            t = resolve((), "crate::" + p, modules)
            if t:
                reexports[p.split("::")[-1]] = t
    edges = {}
    for mod, f in modules.items():
        with open(f, encoding="utf-8") as fh:
            text = fh.read()
        for p in paths_in(text):
            t = resolve(mod, p, modules)
            if t is None or t == mod or t[: len(mod)] == mod:
                continue  # itself, or a descendant (the facade)
            if t == () and mod != ():
                # `crate::Item`: an item the root re-exports is named by its home module.
                item = p.split("::")[-1]
                t = reexports.get(item)
                if t is None or t == mod or t[: len(mod)] == mod:
                    continue
            edges.setdefault(mod, set()).add(t)
    # `crate::Error`, `crate::Isa` and the like: root re-exports, named by their home.
    bad = []
    for mod in sorted(modules):
        if layer_of(mod) is None:
            bad.append(f"{'::'.join(mod)}: in no layer (add its top-level module to LAYERS)")
    for mod, ts in sorted(edges.items()):
        for t in sorted(ts):
            lm, lt = layer_of(mod), layer_of(t)
            if lm is not None and lm == lt and LAYERS[lm][0] == "families" and mod[:1] != t[:1]:
                bad.append(f"{'::'.join(mod)} uses {'::'.join(t)}: one family uses another")
            if lm is not None and lt is not None and lt > lm:
                bad.append(
                    f"{'::'.join(mod) or 'crate'} ({LAYERS[lm][0]}) uses {'::'.join(t) or 'crate'} "
                    f"({LAYERS[lt][0]}), a layer above"
                )
    # Cycles: strongly connected components of more than one module.
    index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
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
                sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(modules):
        if v not in index:
            strong(v)
    for comp in sccs:
        names = sorted("::".join(m) or "crate" for m in comp)
        bad.append(f"cycle of {len(names)} modules: {', '.join(names)}")
    if "--graph" in sys.argv:
        for mod, ts in sorted(edges.items()):
            print(f"{'::'.join(mod) or 'crate'} -> {', '.join(sorted('::'.join(t) or 'crate' for t in ts))}")
    for b in bad:
        print(b)
    print(f"{len(modules)} modules, {sum(len(t) for t in edges.values())} uses: "
          f"{'OK' if not bad else f'{len(bad)} violation(s)'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
