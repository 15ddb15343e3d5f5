//! The modules of `src/client/` import each other without a cycle. The graph is read from
//! the source: a module depends on each sibling it names through `super::` or
//! `crate::client::` (outside comments and its unit tests), and on `mod.rs` when it
//! names one of the items `mod.rs` defines or re-exports; `mod.rs` depends on each child
//! it names by path.

use std::collections::BTreeMap;
use std::path::Path;

const PARENT: &str = "mod";

/// Each module's source, without comment lines and without its unit tests.
fn sources() -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/client");
    let mut sources = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let code: Vec<&str> = text
            .lines()
            .take_while(|line| line.trim() != "#[cfg(test)]")
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect();
        sources.insert(name, code.join("\n"));
    }
    assert!(sources.contains_key(PARENT), "src/client/mod.rs not found in {}", dir.display());
    sources
}

/// The identifiers that follow `prefix` where a path starts with it in `code`.
fn names_after<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    code.match_indices(prefix)
        .filter(|(at, _)| !code[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':'))
        .map(|(at, _)| {
            let rest = &code[at + prefix.len()..];
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// Module -> the modules it depends on.
fn graph(sources: &BTreeMap<String, String>) -> BTreeMap<String, Vec<String>> {
    let children: Vec<&String> = sources.keys().filter(|m| *m != PARENT).collect();
    let mut graph = BTreeMap::new();
    for (module, code) in sources {
        let mut deps: Vec<String> = Vec::new();
        if module == PARENT {
            let code: String =
                code.lines().filter(|l| !l.trim_start().starts_with("mod ")).collect::<Vec<_>>().join("\n");
            for child in &children {
                if !names_after(&code, &format!("{child}::")).is_empty() {
                    deps.push(child.to_string());
                }
            }
        } else {
            let named = names_after(code, "super::").into_iter().chain(names_after(code, "crate::client::"));
            for name in named {
                let target = if sources.contains_key(name) && name != PARENT { name } else { PARENT };
                if target != module && !deps.iter().any(|d| d == target) {
                    deps.push(target.to_string());
                }
            }
        }
        graph.insert(module.clone(), deps);
    }
    graph
}

/// A cycle through `module`, if its dependencies lead back to a module on `path`.
fn find_cycle(
    graph: &BTreeMap<String, Vec<String>>,
    module: &str,
    path: &mut Vec<String>,
    done: &mut Vec<String>,
) -> Option<Vec<String>> {
    if let Some(at) = path.iter().position(|m| m == module) {
        let mut cycle = path[at..].to_vec();
        cycle.push(module.to_string());
        return Some(cycle);
    }
    if done.iter().any(|m| m == module) {
        return None;
    }
    path.push(module.to_string());
    for dep in &graph[module] {
        if let Some(cycle) = find_cycle(graph, dep, path, done) {
            return Some(cycle);
        }
    }
    path.pop();
    done.push(module.to_string());
    None
}

#[test]
fn client_modules_import_each_other_without_a_cycle() {
    let graph = graph(&sources());
    assert!(graph[PARENT].iter().any(|m| m == "peer"), "mod.rs uses peer: {graph:?}");
    assert!(graph["peer"].iter().any(|m| m == "http"), "peer uses http: {graph:?}");
    let mut done = Vec::new();
    for module in graph.keys() {
        if let Some(cycle) = find_cycle(&graph, module, &mut Vec::new(), &mut done) {
            panic!("import cycle in src/client: {}\n{graph:#?}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_cycle_check_finds_a_cycle_through_a_re_export() {
    let mut sources = BTreeMap::new();
    sources.insert(PARENT.to_string(), "pub use config::Settings;\nuse peer::Peer;".to_string());
    sources.insert("config".to_string(), String::new());
    sources.insert("peer".to_string(), "use super::Settings;".to_string());
    let graph = graph(&sources);
    let cycle = find_cycle(&graph, PARENT, &mut Vec::new(), &mut Vec::new());
    assert_eq!(cycle, Some(vec!["mod".to_string(), "peer".to_string(), "mod".to_string()]));
}
