#!/usr/bin/env python3
"""Fails when a crate's modules import each other in a cycle.

For each source directory given, every `crate::a::b` and `super::a` path in code (comments and
`#[cfg(test)] mod tests` blocks left out) is an edge from the file's module to the module it
names; modules are compared at one, two and three levels of nesting, so both `jwt -> wire ->
jwt` and a cycle between two files of one folder are caught. Prints each cycle with its edges.
"""
import os
import re
import sys

PATH = r"[a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*"


def modules(root):
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(folder, name)
            parts = os.path.relpath(path, root)[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            with open(path, encoding="utf-8") as source:
                text = source.read()
            text = re.split(r"#\[cfg\(test\)\]\s*mod tests", text)[0]
            text = re.sub(r"//[^\n]*", "", text)
            found[tuple(parts)] = (text, name in ("mod.rs", "lib.rs", "main.rs"))
    return found


def edges(found, depth):
    def node(parts):
        for end in range(len(parts), 0, -1):
            if tuple(parts[:end]) in found:
                return tuple(parts[:end])[:depth]
        return None

    graph = {}
    for module, (text, is_folder) in found.items():
        source = module[:depth]
        base = list(module) if is_folder else list(module[:-1])
        targets = [node(ref.split("::")) for ref in re.findall(r"crate::(" + PATH + ")", text)]
        for ref in re.findall(r"\bsuper::(" + PATH + ")", text):
            targets.append(node(base[:-1] + ref.split("::")))
        for target in targets:
            if target and target != source:
                graph.setdefault(source, set()).add(target)
    return graph


def cycles(graph):
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main(roots):
    failed = False
    for root in roots:
        found = modules(root)
        reported = set()
        for depth in (1, 2, 3):
            graph = edges(found, depth)
            for component in cycles(graph):
                if tuple(component) in reported:
                    continue
                reported.add(tuple(component))
                failed = True
                names = ["::".join(m) or "crate" for m in component]
                print(f"{root}: import cycle among {', '.join(names)}")
                for m in component:
                    inside = sorted("::".join(t) for t in graph.get(m, ()) if t in component)
                    print(f"    {'::'.join(m)} -> {', '.join(inside)}")
    if failed:
        sys.exit(1)
    print(f"no import cycles in {', '.join(roots)}")


if __name__ == "__main__":
    main(sys.argv[1:])
