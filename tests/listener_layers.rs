//! The listener is built in layers — accept → session → dispatch → reply, over a few
//! leaves (configuration, counters, the allow-list, the shutdown state) — and its
//! modules never depend on each other in a circle. This test reads the sources and keeps
//! it so: every path a module names (`use` trees, and `crate::`/`super::`/`self::` paths
//! in code) is an edge from that module to the module it lands in, and so is each
//! `mod child;` declaration (so a child using its parent's own items is a cycle too:
//! what siblings share lives in a sibling, not in the parent). Inline modules (unit
//! tests) are not part of the graph.
//!
//! The checker takes any directory of `src/`; it runs on `src/listener` only for now.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// Source text with comments, string and character literals blanked out.
fn strip(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if (c == 'r' || (c == 'b' && at(i + 1) == 'r'))
            && !at(i.wrapping_sub(1)).is_alphanumeric()
            && matches!(at(i + 1 + (c == 'b') as usize), '"' | '#')
        {
            // A raw string: r"...", r#"..."#, br#"..."#.
            i += 1 + (c == 'b') as usize;
            let mut hashes = 0;
            while at(i) == '#' {
                hashes += 1;
                i += 1;
            }
            i += 1; // the opening quote
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i] == '"' && (1..=hashes).all(|h| at(i + h) == '#') {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && (at(i + 1) == '\\' || at(i + 2) == '\'') {
            // A character literal (a lifetime has no closing quote right after one char).
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Ident(String),
    PathSep,
    Punct(char),
}

fn tokens(code: &str) -> Vec<Token> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push(Token::PathSep);
            i += 2;
        } else {
            if !c.is_whitespace() {
                out.push(Token::Punct(c));
            }
            i += 1;
        }
    }
    out
}

fn ident(t: Option<&Token>) -> Option<&str> {
    match t {
        Some(Token::Ident(s)) => Some(s),
        _ => None,
    }
}

/// Expands a `use` tree (the tokens between `use` and `;`) into full paths.
fn use_paths(tree: &[Token]) -> Vec<Vec<String>> {
    fn parse(tree: &[Token], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        loop {
            match tree.get(*i) {
                Some(Token::Ident(s)) if s == "as" => {
                    *i += 2; // the alias
                    out.push(path);
                    return;
                }
                Some(Token::Ident(s)) if s == "self" && *i > 0 && tree[*i - 1] != Token::PathSep => {
                    // `{self, ...}`: the prefix itself.
                    *i += 1;
                    out.push(path);
                    return;
                }
                Some(Token::Ident(s)) => {
                    path.push(s.clone());
                    *i += 1;
                }
                Some(Token::PathSep) => *i += 1,
                Some(Token::Punct('*')) => {
                    *i += 1;
                    out.push(path);
                    return;
                }
                Some(Token::Punct('{')) => {
                    *i += 1;
                    while !matches!(tree.get(*i), None | Some(Token::Punct('}'))) {
                        parse(tree, i, &path, out);
                        if tree.get(*i) == Some(&Token::Punct(',')) {
                            *i += 1;
                        }
                    }
                    *i += 1;
                    return;
                }
                _ => {
                    out.push(path);
                    return;
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    parse(tree, &mut i, &[], &mut out);
    out
}

/// The paths one module's source names, and the child modules it declares.
fn named_paths(source: &str) -> (Vec<Vec<String>>, Vec<String>) {
    let toks = tokens(&strip(source));
    let (mut paths, mut children) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < toks.len() {
        match ident(toks.get(i)) {
            Some("mod") if ident(toks.get(i + 1)).is_some() => {
                let name = ident(toks.get(i + 1)).unwrap_or_default().to_string();
                i += 2;
                if toks.get(i) == Some(&Token::Punct('{')) {
                    // An inline module (unit tests): skipped.
                    let mut depth = 0;
                    while i < toks.len() {
                        match toks[i] {
                            Token::Punct('{') => depth += 1,
                            Token::Punct('}') => depth -= 1,
                            _ => {}
                        }
                        i += 1;
                        if depth == 0 {
                            break;
                        }
                    }
                } else {
                    children.push(name);
                }
            }
            Some("use") => {
                let end = (i..toks.len()).find(|&j| toks[j] == Token::Punct(';')).unwrap_or(toks.len());
                paths.extend(use_paths(&toks[i + 1..end]));
                i = end + 1;
            }
            Some("crate" | "super" | "self") if toks.get(i + 1) == Some(&Token::PathSep) => {
                let mut path = Vec::new();
                while let Some(segment) = ident(toks.get(i)) {
                    path.push(segment.to_string());
                    if toks.get(i + 1) != Some(&Token::PathSep) {
                        break;
                    }
                    i += 2;
                }
                i += 1;
                paths.push(path);
            }
            _ => i += 1,
        }
    }
    (paths, children)
}

/// Makes `path`, as written in module `from`, absolute (from the crate root); `None` for
/// paths that do not start with `crate`, `super` or `self` (other crates, or names that
/// a `use` brought in, whose own `use` was resolved already).
fn absolute(from: &Module, path: &[String]) -> Option<Module> {
    let mut base: Module = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("self" | "super") => from.clone(),
        _ => return None,
    };
    let mut rest = &path[usize::from(path[0] == "crate")..];
    while let Some(first) = rest.first() {
        match first.as_str() {
            "super" => {
                base.pop();
            }
            "self" => {}
            _ => break,
        }
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The module graph of the tree under `src/<root>`: each module's dependencies among the
/// modules of that tree.
fn module_graph(src: &Path, root: &str) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut sources = BTreeMap::new();
    let mut dirs = vec![src.join(root)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Module = relative.iter().map(|s| s.to_string_lossy().into_owned()).collect();
            if module.last().map(String::as_str) == Some("mod") {
                module.pop();
            }
            sources.insert(module, std::fs::read_to_string(&path).unwrap());
        }
    }
    graph_of(&sources, root)
}

fn graph_of(sources: &BTreeMap<Module, String>, root: &str) -> BTreeMap<Module, BTreeSet<Module>> {
    let modules: BTreeSet<Module> = sources.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (module, source) in sources {
        let (paths, children) = named_paths(source);
        let mut deps = BTreeSet::new();
        for child in children {
            let mut child_module = module.clone();
            child_module.push(child);
            deps.insert(child_module);
        }
        for path in paths {
            let Some(target) = absolute(module, &path) else { continue };
            if target.first().map(String::as_str) != Some(root) {
                continue;
            }
            // The module the path lands in: its longest prefix that is a module.
            let landed = (1..=target.len()).rev().map(|n| target[..n].to_vec()).find(|m| modules.contains(m));
            if let Some(landed) = landed {
                deps.insert(landed);
            }
        }
        deps.remove(module);
        graph.insert(module.clone(), deps);
    }
    graph
}

/// A cycle of the graph, if it has one, as the modules along it.
fn find_cycle(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit(
        m: &Module,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        done: &mut BTreeSet<Module>,
        stack: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(at) = stack.iter().position(|s| s == m) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(m.clone());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        stack.push(m.clone());
        for dep in graph.get(m).into_iter().flatten() {
            if let Some(cycle) = visit(dep, graph, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(m.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|m| visit(m, graph, &mut done, &mut Vec::new()))
}

fn show(modules: &[Module]) -> String {
    modules.iter().map(|m| m.join("::")).collect::<Vec<_>>().join(" -> ")
}

/// How high a module of the listener sits: a module may only depend on modules of its
/// own layer or lower ones.
fn listener_layer(module: &Module) -> usize {
    match module.get(1).map(String::as_str) {
        None => 5, // listener/mod.rs: the public API, wiring the layers together
        Some("accept") => 4,
        Some("session") => 3,
        Some("dispatch") => 2,
        Some("reply") => 1,
        Some(_) => 0, // allow, config, drain, stats
    }
}

#[test]
fn listener_modules_form_layers_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src, "listener");
    for layer in ["accept", "session", "dispatch", "reply"] {
        let module = vec!["listener".to_string(), layer.to_string()];
        assert!(graph.contains_key(&module), "no listener::{layer}; modules: {:?}", graph.keys());
    }
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle in the listener: {}", show(&cycle));
    }
    for (from, deps) in &graph {
        for to in deps {
            assert!(
                listener_layer(from) >= listener_layer(to),
                "{} depends on {}, a higher layer (accept → session → dispatch → reply)",
                from.join("::"),
                to.join("::")
            );
        }
    }
}

/// The checker itself finds what it must: paths in `use` trees and in code, relative or
/// not, and a child that reaches into its parent.
#[test]
fn the_checker_finds_cycles_through_use_trees_code_paths_and_parents() {
    let module = |path: &str| path.split("::").map(str::to_string).collect::<Module>();
    let sources = |files: &[(&str, &str)]| -> BTreeMap<Module, String> {
        files.iter().map(|(m, s)| (module(m), s.to_string())).collect()
    };
    let clean = sources(&[
        ("x", "mod a; mod b; pub use a::Thing;"),
        (
            "x::a",
            "use crate::x::b::{self, c::{Deep, Other as O}}; // use crate::x;\n\
             fn f() { let s = \"super::x\"; b::g(); }",
        ),
        ("x::b", "mod c; pub fn g() { self::c::h() }"),
        ("x::b::c", "pub fn h() { crate::io::thing(); }\n#[cfg(test)] mod tests { use super::super::*; }"),
    ]);
    let graph = graph_of(&clean, "x");
    assert_eq!(find_cycle(&graph), None, "{graph:?}");
    assert_eq!(graph[&module("x::a")], BTreeSet::from([module("x::b"), module("x::b::c")]));

    for (file, source) in [
        ("x::b::c", "fn h() { super::super::a::f() }"),
        ("x::b::c", "use crate::x::{a, b};"),
        ("x::b", "mod c; use super::Thing;"),
    ] {
        let mut cyclic = clean.clone();
        cyclic.insert(module(file), source.to_string());
        let cycle = find_cycle(&graph_of(&cyclic, "x")).unwrap_or_else(|| panic!("{file}: {source}"));
        assert!(cycle.contains(&module(file)), "{}", show(&cycle));
    }
}
