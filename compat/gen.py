#!/usr/bin/env python3
"""Lists every public path of a crate from rustdoc JSON (format 57) and writes
a Rust test file that names each one.

usage: gen.py CRATE DEFAULT.json ALL.json OUT.rs [PATH=WHY ...]

The JSON comes from
`cargo +nightly rustdoc -p CRATE --lib [--all-features] -- -Zunstable-options
--output-format json --document-hidden-items`; the files it wrote were then
formatted with rustfmt.
Paths present only with all features are gated on the compat crate's
`all-features` feature.
"""
import json
import sys


def inner_kind(item):
    return next(iter(item["inner"]))


KEYWORDS = {"type", "match", "fn", "impl", "mod", "move", "ref", "self", "struct", "trait", "use", "where", "async", "await", "dyn", "loop", "box"}


def ident(name):
    return f"r#{name}" if name in KEYWORDS else name


def has_type_params(generics):
    return any("type" in p["kind"] or "const" in p["kind"] for p in generics["params"])


class Api:
    def __init__(self, crate, path):
        d = json.load(open(path))
        self.crate = crate
        self.idx = d["index"]
        self.paths = {}  # path -> (kind, id or None)
        self.lines = {}  # key -> statement
        self.uses = {}
        root = d["root"]
        self.walk(str(root), crate, set())
        self.members()

    def item(self, id_):
        return self.idx.get(str(id_)) if id_ is not None else None

    def walk(self, mod_id, prefix, seen):
        if mod_id in seen:
            return
        seen = seen | {mod_id}
        module = self.idx[mod_id]["inner"]["module"]
        for cid in module["items"]:
            it = self.idx[str(cid)]
            k = inner_kind(it)
            if k == "use":
                u = it["inner"]["use"]
                target = self.item(u["id"])
                if u["is_glob"]:
                    if target is not None and inner_kind(target) == "module":
                        self.walk(str(u["id"]), prefix, seen)
                    elif target is not None and inner_kind(target) == "enum":
                        pass  # variants are named through the enum
                    else:
                        print(f"warning: external glob {prefix}::{u['source']}", file=sys.stderr)
                    continue
                path = f"{prefix}::{u['name']}"
                tk = inner_kind(target) if target is not None else "external"
                self.paths[path] = (tk, str(u["id"]) if target is not None else None)
                if tk == "module":
                    self.walk(str(u["id"]), path, seen)
            elif k == "impl":
                continue
            else:
                path = f"{prefix}::{it['name']}"
                self.paths[path] = (k, str(cid))
                if k == "module":
                    self.walk(str(cid), path, seen)

    def members(self):
        done = set()
        for path, (k, id_) in sorted(self.paths.items(), key=lambda p: (p[0].count("::"), p[0])):
            self.uses[path] = f"use {path} as _;"
            if id_ is None:
                continue
            it = self.idx[id_]
            inner = it["inner"][k]
            if k == "function":
                if not has_type_params(inner["generics"]):
                    self.lines[path] = f"let _ = {path};"
            elif k in ("constant", "static"):
                self.lines[path] = f"let _ = &{path};"
            elif k == "type_alias":
                if not has_type_params(inner["generics"]):
                    self.lines[path] = f"let _: Option<{path}> = None;"
            if id_ in done:
                continue
            if k in ("struct", "enum", "union"):
                done.add(id_)
                generic = has_type_params(inner["generics"])
                if k == "struct":
                    kind = inner["kind"]
                    fields = []
                    if "plain" in kind:
                        fields = [ident(self.idx[str(f)]["name"]) for f in kind["plain"]["fields"]]
                    elif "tuple" in kind:
                        fields = [str(i) for i, f in enumerate(kind["tuple"]) if f is not None]
                    if not generic:
                        for f in fields:
                            self.lines[f"{path}.{f}"] = f"let _ = |x: &{path}| {{ let _ = &x.{f}; }};"
                if k == "enum":
                    for v in inner["variants"]:
                        vname = self.idx[str(v)]["name"]
                        self.uses[f"{path}::{vname}"] = f"use {path}::{vname} as _;"
                        vk = self.idx[str(v)]["inner"]["variant"]["kind"]
                        if isinstance(vk, dict) and "plain" in vk and not generic:
                            fs = [ident(self.idx[str(f)]["name"]) for f in vk["plain"]["fields"]]
                            for f in fs:
                                self.lines[f"{path}::{vname}.{f}"] = (
                                    f"let _ = |x: {path}| if let {path}::{vname} {{ {f}, .. }} = x {{ let _ = {f}; }};"
                                )
                for imp in inner["impls"]:
                    ii = self.idx[str(imp)]["inner"]["impl"]
                    if ii["trait"] is not None or ii["is_synthetic"] or ii["blanket_impl"] is not None:
                        continue
                    igeneric = generic or has_type_params(ii["generics"])
                    for mid in ii["items"]:
                        m = self.idx[str(mid)]
                        mk = inner_kind(m)
                        key = f"{path}::{m['name']}"
                        if mk == "function":
                            if igeneric or has_type_params(m["inner"]["function"]["generics"]):
                                self.lines[key] = f"// generic, not named: {key}"
                            else:
                                self.lines[key] = f"let _ = {key};"
                        elif mk == "assoc_const":
                            if not igeneric:
                                self.lines[key] = f"let _ = &{key};"
            elif k == "trait":
                done.add(id_)
                if has_type_params(inner["generics"]):
                    continue
                for mid in inner["items"]:
                    m = self.idx[str(mid)]
                    mk = inner_kind(m)
                    key = f"{path}::{m['name']}"
                    if mk == "function" and not has_type_params(m["inner"]["function"]["generics"]):
                        self.lines[key] = f"{{ fn _t<T: {path}>() {{ let _ = <T as {path}>::{m['name']}; }} }}"
                    elif mk == "function":
                        self.lines[key] = f"// generic, not named: {key}"


def main():
    crate, default_json, all_json, out = sys.argv[1:5]
    # Paths removed on purpose, each with its reason in the generated file.
    excluded = dict(arg.split("=", 1) for arg in sys.argv[5:])
    d = Api(crate, default_json)
    a = Api(crate, all_json)
    for api in (d, a):
        for table in (api.uses, api.lines):
            for key in list(table):
                if any(key == p or key.startswith(p + "::") for p in excluded):
                    del table[key]
    n_paths = len(a.uses)
    gate = '#[cfg(feature = "all-features")]'
    o = []
    o.append(f"//! Every public path of `{crate}` as of issue 25 (generated from rustdoc JSON")
    o.append("//! by `compat/gen.py`; paths only built with features are gated on this")
    o.append("//! crate's `all-features`). Deprecated paths are allowed: the test fails to")
    o.append("//! compile when a path a user could reach is gone.")
    for path, why in sorted(excluded.items()):
        o.append(f"//! Left out: `{path}` ({why}).")
    o.append("#![allow(deprecated, unused_imports, clippy::no_effect, clippy::let_unit_value)]")
    o.append("")
    for key in sorted(a.uses):
        if key not in d.uses:
            o.append(gate)
        o.append(a.uses[key])
    o.append("")
    o.append("/// Names every public function, method, constant, field and variant field")
    o.append("/// that can be named without choosing type parameters.")
    o.append("#[allow(dead_code, clippy::type_complexity)]")
    o.append("fn names() {")
    for key in sorted(a.lines):
        line = a.lines[key]
        if line.startswith("//"):
            o.append(f"    {line}")
            continue
        if key not in d.lines:
            o.append(f"    {gate}")
        o.append(f"    {line}")
    o.append("}")
    o.append("")
    o.append("#[test]")
    o.append("fn every_public_path_compiles() {")
    o.append("    let named: fn() = names;")
    o.append("    let _ = named;")
    o.append("}")
    open(out, "w").write("\n".join(o) + "\n")
    print(f"{crate}: {n_paths} paths ({len(d.uses)} with default features), {len(a.lines)} members", file=sys.stderr)


main()
