//! The C documentation lists every configuration key the parsers accept, and no other:
//! the key lists in `include/hamux.h` (from the doc comments of `hamux_client_new` and
//! `hamux_listener_new`) and the README's configuration reference, against the keys
//! `ClientConfig::parse` and `ListenerConfig::parse` ask for.
//!
//! The parsers' keys are recorded by [`KEYS_READ`] while a configuration is parsed. Every
//! key a parser asks for is one it accepts (unknown keys are the ones never asked for), and
//! the parsers ask for all their keys on every successful parse, so one parse each finds
//! them all.

use crate::client::ClientConfig;
use crate::config::KEYS_READ;
use crate::listener::ListenerConfig;
use std::collections::BTreeSet;

type Keys = BTreeSet<String>;

fn text_of(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The keys asked for while `parse` runs, as full names (`peers[0].url`).
fn keys_read(parse: impl FnOnce()) -> Vec<String> {
    KEYS_READ.with(|keys| keys.borrow_mut().clear());
    parse();
    KEYS_READ.with(|keys| keys.take())
}

/// The key lists in the header's doc comment of `function`: each run of `// - \`key\`...`
/// items (with their indented continuation lines) is one list.
fn header_key_lists(header: &str, function: &str) -> Vec<Keys> {
    let lines: Vec<&str> = header.lines().collect();
    let declaration = lines
        .iter()
        .position(|l| !l.starts_with("//") && l.contains(&format!(" {function}(")))
        .unwrap_or_else(|| panic!("{function} is not declared in include/hamux.h"));
    let doc_start = lines[..declaration].iter().rposition(|l| !l.starts_with("//")).map_or(0, |i| i + 1);
    let mut lists = Vec::new();
    let mut list = Keys::new();
    for line in &lines[doc_start..declaration] {
        if let Some(item) = line.strip_prefix("// - `") {
            list.insert(item.split('`').next().unwrap_or_default().to_string());
        } else if !line.starts_with("//   ") && !list.is_empty() {
            lists.push(std::mem::take(&mut list));
        }
    }
    if !list.is_empty() {
        lists.push(list);
    }
    lists
}

/// The keys in the first column of the README's table after the line starting with
/// `heading` (a cell may name several: `` `cert-file`, `key-file` ``).
fn readme_table_keys(readme: &str, heading: &str) -> Keys {
    let after =
        readme.split(&format!("\n{heading}")).nth(1).unwrap_or_else(|| panic!("README: no {heading}"));
    let rows = after.lines().skip_while(|l| !l.starts_with('|')).take_while(|l| l.starts_with('|'));
    let first_cells = rows.skip(2).filter_map(|row| row.split('|').nth(1));
    first_cells
        .flat_map(|cell| cell.split('`').skip(1).step_by(2).map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn assert_same(what: &str, documented: &Keys, accepted: &Keys) {
    let missing: Vec<_> = accepted.difference(documented).collect();
    let unknown: Vec<_> = documented.difference(accepted).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "{what}: accepted but not documented: {missing:?}; documented but not accepted: {unknown:?}"
    );
}

/// The client's keys: (top level, peer entry).
fn client_keys() -> (Keys, Keys) {
    let read = keys_read(|| {
        ClientConfig::parse(r#"{"peers": [{"url": "hamux://127.0.0.1:1"}]}"#).expect("a valid configuration");
    });
    let peer: Keys = read.iter().filter_map(|k| k.strip_prefix("peers[0].")).map(str::to_string).collect();
    let top: Keys = read.into_iter().filter(|k| !k.starts_with("peers[")).collect();
    (top, peer)
}

fn listener_keys() -> Keys {
    keys_read(|| {
        ListenerConfig::parse("{}").expect("a valid configuration");
    })
    .into_iter()
    .collect()
}

#[test]
fn the_header_documents_every_client_key() {
    let (top, peer) = client_keys();
    assert!(top.contains("io-threads") && peer.contains("url"), "{top:?} {peer:?}");
    let lists = header_key_lists(&text_of("include/hamux.h"), "hamux_client_new");
    let [client_only, peer_keys] = lists.as_slice() else {
        panic!("hamux_client_new: expected two key lists (client keys, peer keys), got {lists:?}")
    };
    assert_same("hamux_client_new's peer keys", peer_keys, &peer);
    let mut documented_top = client_only.clone();
    documented_top.extend(peer_keys.iter().filter(|k| *k != "url").cloned());
    assert_same("hamux_client_new's top-level keys", &documented_top, &top);
}

#[test]
fn the_header_documents_every_listener_key() {
    let accepted = listener_keys();
    assert!(accepted.contains("port") && accepted.contains("parallel-commands"), "{accepted:?}");
    let lists = header_key_lists(&text_of("include/hamux.h"), "hamux_listener_new");
    let [documented] = lists.as_slice() else {
        panic!("hamux_listener_new: expected one key list, got {lists:?}")
    };
    assert_same("hamux_listener_new's keys", documented, &accepted);
}

#[test]
fn the_readme_documents_every_key() {
    let readme = text_of("README.md");
    let (mut client, peer) = client_keys();
    client.extend(peer);
    let mut documented = readme_table_keys(&readme, "Client (`hamux_client_new`");
    documented.insert("url".to_string()); // described in the `peers` row
    assert_same("the README's client keys", &documented, &client);
    let documented = readme_table_keys(&readme, "Listener (`hamux_listener_new`");
    assert_same("the README's listener keys", &documented, &listener_keys());
}
