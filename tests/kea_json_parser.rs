//! The hook's JSON reader (`kea/json_parser.cc`) against Kea's own `Element::fromJSON`
//! and its writer (`kea/json_writer.cc`) against Kea's `Element::str()`,
//! linked from Debian's libkea-cc: on every text either both refuse it (the hook's
//! refusal *is* Kea's, whose parser it hands such texts to) or both give the same
//! elements with the same values and the same positions, which lease_cmds' error texts
//! name. The texts: the lease commands partners send (as the hook's and Kea's `str()`
//! write them), every one-byte deletion and many random edits of them, and generated
//! documents with whitespace, duplicate keys, trailing commas, empty containers, edge
//! integers, reals, escapes and newlines. Every element Kea reads is also written by both
//! writers, which must agree byte for byte.

use std::path::{Path, PathBuf};
use testkit::kea_driver::Driver;

const DRIVER: &str = r#"
#include <json_parser.h>
#include <json_writer.h>
#include <cc/data.h>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using namespace isc::data;

namespace {
std::mt19937_64 rng(20261202);
size_t pick(size_t n) { return (rng() % n); }

std::string describe(const ConstElementPtr& e) {
    return (e->str() + " @" + e->getPosition().str());
}

// Same type, value and position, all the way down.
bool same(const ConstElementPtr& a, const ConstElementPtr& b, std::string& why) {
    if (a->getType() != b->getType() || a->getPosition().line_ != b->getPosition().line_ ||
        a->getPosition().pos_ != b->getPosition().pos_ ||
        a->getPosition().file_ != b->getPosition().file_) {
        why = describe(a) + " vs " + describe(b);
        return (false);
    }
    switch (a->getType()) {
    case Element::list:
        if (a->size() != b->size()) {
            why = "list sizes " + describe(a) + " vs " + describe(b);
            return (false);
        }
        for (size_t i = 0; i < a->size(); ++i) {
            if (!same(a->get(i), b->get(i), why)) {
                return (false);
            }
        }
        return (true);
    case Element::map: {
        auto const& ma = a->mapValue();
        auto const& mb = b->mapValue();
        if (ma.size() != mb.size()) {
            why = "map sizes " + describe(a) + " vs " + describe(b);
            return (false);
        }
        for (auto ia = ma.begin(), ib = mb.begin(); ia != ma.end(); ++ia, ++ib) {
            if (ia->first != ib->first || !same(ia->second, ib->second, why)) {
                if (why.empty()) {
                    why = "keys " + ia->first + " vs " + ib->first;
                }
                return (false);
            }
        }
        return (true);
    }
    default:
        if (!a->equals(*b)) {
            why = describe(a) + " vs " + describe(b);
            return (false);
        }
        return (true);
    }
}

size_t fast_ok = 0, both_refused = 0, fast = 0;

bool check(const std::string& text) {
    ConstElementPtr kea, ours;
    std::string kea_error, our_error;
    try {
        kea = Element::fromJSON(text);
    } catch (const std::exception& ex) {
        kea_error = std::string("error: ") + ex.what();
    }
    try {
        ours = isc::hamux::parseJson(text.data(), text.size());
    } catch (const std::exception& ex) {
        our_error = std::string("error: ") + ex.what();
    }
    std::string why;
    bool ok = kea ? (ours && same(kea, ours, why)) : (!ours && kea_error == our_error);
    // The reader alone: never a text Kea refuses, always Kea's elements.
    ConstElementPtr alone = isc::hamux::parseJsonFast(text.data(), text.size());
    if (alone) {
        ++fast;
        if (!kea) {
            ok = false;
            why = "the fast reader took a text Kea refuses";
        } else if (ok && !same(kea, alone, why)) {
            ok = false;
        }
    }
    if (!ok) {
        std::printf("MISMATCH on %s\n  Kea: %s\n  ours: %s\n  %s\n", text.c_str(),
                    kea ? describe(kea).c_str() : kea_error.c_str(),
                    ours ? describe(ours).c_str() : our_error.c_str(), why.c_str());
        return (false);
    }
    if (kea && isc::hamux::toJson(kea) != kea->str()) {
        std::printf("WRITER MISMATCH on %s\n  Kea: %s\n  ours: %s\n", text.c_str(),
                    kea->str().c_str(), isc::hamux::toJson(kea).c_str());
        return (false);
    }
    if (kea) {
        ++fast_ok;
    } else {
        ++both_refused;
    }
    return (true);
}

const char* SPACES[] = {"", "", "", " ", "  ", "\t", " \r", "\n", " \n ", "\b", "\f"};
const char* KEYS[] = {"ip-address", "hw-address", "subnet-id", "valid-lft", "expire",
                      "hostname", "state", "user-context", "a", "", "a b", "k\xc3\xa9"};
const char* NUMBERS[] = {"0", "-0", "7", "007", "-12", "3600", "9223372036854775807",
                         "-9223372036854775808", "9223372036854775808",
                         "-9223372036854775809", "99999999999999999999", "1.5", "-2e3",
                         "1E2", "+5", "-", "1-2", ".5", "5.", "1e", "0x10"};
const char* STRINGS[] = {"\"\"", "\"x\"", "\"10.1.0.9\"", "\"1a:1b:1c:1d:1e:09\"",
                         "\"a\\\"b\"", "\"tab\\tx\"", "\"\\u0041\"", "\"\\u00e9\"",
                         "\"raw\tc\"", "\"\xc3\xa9t\xc3\xa9\"", "\"a/b\"", "\"\\/\""};
const char* WORDS[] = {"true", "false", "null", "tru", "nul", "truex", "False", "nan"};

std::string ws() { return (SPACES[pick(sizeof(SPACES) / sizeof(*SPACES))]); }

std::string value(int depth) {
    switch (pick(depth > 3 ? 3 : 6)) {
    case 0:
        return (NUMBERS[pick(sizeof(NUMBERS) / sizeof(*NUMBERS))]);
    case 1:
        return (STRINGS[pick(sizeof(STRINGS) / sizeof(*STRINGS))]);
    case 2:
        return (WORDS[pick(sizeof(WORDS) / sizeof(*WORDS))]);
    case 3: case 4: {
        std::string s = "{" + ws();
        size_t n = pick(5);
        for (size_t i = 0; i < n; ++i) {
            s += "\"" + std::string(KEYS[pick(sizeof(KEYS) / sizeof(*KEYS))]) + "\"" + ws() +
                 ":" + ws() + value(depth + 1) + ws();
            if (i + 1 < n || pick(8) == 0) {
                s += "," + ws();
            }
        }
        return (s + "}");
    }
    default: {
        std::string s = "[" + ws();
        size_t n = pick(4);
        for (size_t i = 0; i < n; ++i) {
            s += value(depth + 1) + ws();
            if (i + 1 < n || pick(5) == 0) {
                s += "," + ws();
            }
        }
        return (s + "]");
    }
    }
}
} // namespace

int main() {
    std::vector<std::string> commands = {
        "{ \"arguments\": { \"cltt\": 1764670000, \"expire\": 1764673600, \"fqdn-fwd\": false, "
        "\"fqdn-rev\": false, \"force-create\": true, \"hostname\": \"\", \"hw-address\": "
        "\"00:0c:01:02:03:04\", \"ip-address\": \"10.1.0.9\", \"origin\": \"ha-partner\", "
        "\"state\": 0, \"subnet-id\": 1, \"valid-lft\": 3600 }, \"command\": \"lease4-update\", "
        "\"service\": [ \"dhcp4\" ] }",
        "{\"command\":\"lease4-del\",\"arguments\":{\"ip-address\":\"10.1.0.9\",\"origin\":"
        "\"ha-partner\"},\"service\":[\"dhcp4\"]}",
        "{ \"arguments\": { \"deleted-leases\": [ ], \"leases\": [ { \"duid\": \"00:01:02\", "
        "\"iaid\": 7, \"ip-address\": \"2001:db8::1\", \"preferred-lft\": 1800, \"prefix-len\": "
        "128, \"subnet-id\": 1, \"type\": \"IA_NA\", \"user-context\": { } } ], \"origin\": "
        "\"ha-partner\" }, \"command\": \"lease6-bulk-apply\", \"service\": [ \"dhcp6\" ] }",
        "{ \"command\": \"ha-heartbeat\", \"service\": [ \"dhcp4\" ] }",
        "", " ", "{", "}", "[]", "[1,]", "{}", "{ }x", "{\"a\":1}{}", "\"\\x\"",
        std::string("{\"a\":\"b\0c\"}", 11), std::string("{\"a\":1}\0", 8),
    };
    bool ok = true;
    for (auto const& command : commands) {
        ok = check(command) && ok;
        for (size_t i = 0; i < command.size(); ++i) {
            std::string cut = command;
            cut.erase(i, 1);
            ok = check(cut) && ok;
        }
        for (int i = 0; i < 3000 && !command.empty(); ++i) {
            std::string edited = command;
            const char alphabet[] = "{}[]\",:-+.0123456789eE tfnlrua\\\n\t";
            size_t edits = 1 + pick(3);
            for (size_t k = 0; k < edits; ++k) {
                size_t at = pick(edited.size());
                char c = alphabet[pick(sizeof(alphabet) - 1)];
                switch (pick(3)) {
                case 0: edited[at] = c; break;
                case 1: edited.insert(at, 1, c); break;
                default: edited.erase(at, 1); break;
                }
                if (edited.empty()) {
                    break;
                }
            }
            ok = check(edited) && ok;
        }
    }
    for (int i = 0; i < 60000; ++i) {
        ok = check(ws() + value(0) + ws()) && ok;
    }
    std::printf("%zu parsed alike (%zu of them by the fast reader), %zu refused alike\n",
                fast_ok, fast, both_refused);
    return (ok ? 0 : 1);
}
"#;

#[test]
fn the_hooks_json_reader_gives_what_keas_gives() {
    let driver = Driver {
        name: "kea-json",
        source: DRIVER,
        hook_sources: &["kea/json_parser.cc", "kea/json_writer.cc"],
        libs: &["-lkea-cc", "-lkea-exceptions"],
        needs_header: "/usr/include/kea/cc/data.h",
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let Some(stdout) =
        driver.run(&root, Path::new(env!("CARGO_TARGET_TMPDIR")), "the hook's reader and Kea's")
    else {
        return;
    };
    let fast: usize = stdout
        .split_once('(')
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    assert!(fast > 10_000, "too few texts read by the fast reader to compare it: {stdout}");
    println!("{stdout}");
}
