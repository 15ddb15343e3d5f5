//! The hook's `lease4-update` / `lease4-del` text (`kea/lease_commands.cc`, written
//! straight from the lease) against libdhcp_ha 2.2's way of making it, linked from
//! Debian's Kea libraries: `Lease4::toElement()`, `expire` for `cltt`, `force-create` on
//! updates, `origin`, the command map with `service`, and Kea's own `str()`. Both must
//! give the same bytes for every lease: with and without client-id and user-context,
//! hostnames with quotes, escapes, control and high bytes, hardware addresses of any
//! length, edge lifetimes, times, subnet ids and states.

use std::path::{Path, PathBuf};
use testkit::kea_driver::Driver;

const DRIVER: &str = r#"
#include <lease_commands.h>
#include <cc/data.h>
#include <dhcp/duid.h>
#include <dhcp/hwaddr.h>
#include <dhcpsrv/lease.h>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace isc::asiolink;
using namespace isc::data;
using namespace isc::dhcp;

namespace {
std::mt19937_64 rng(20261206);
uint64_t pick(uint64_t n) { return (rng() % n); }

// libdhcp_ha 2.2: CommandCreator::createLease4Update / createLease4Delete.
std::string oracle(const std::string& name, const Lease4Ptr& lease) {
    ElementPtr args = lease->toElement();
    args->set("expire", Element::create(args->get("cltt")->intValue() +
                                        args->get("valid-lft")->intValue()));
    args->remove("cltt");
    if (name == "lease4-update") {
        args->set("force-create", Element::create(true));
    }
    args->set("origin", Element::create("ha-partner"));
    ElementPtr command = Element::createMap();
    command->set("command", Element::create(name));
    command->set("arguments", args);
    ElementPtr services = Element::createList();
    services->add(Element::create("dhcp4"));
    command->set("service", services);
    return (command->str());
}

std::vector<uint8_t> bytes(size_t n) {
    std::vector<uint8_t> out(n);
    for (auto& b : out) {
        b = static_cast<uint8_t>(rng());
    }
    return (out);
}

std::string hostname() {
    static const std::vector<std::string> parts = {
        "", "host", "a.example.org.", "quote\"d", "back\\slash", "tab\there", "new\nline",
        "\x01\x1f", "caf\xc3\xa9", "\x7f\xff", "/", "{}", "[ ]", "\"", "\\u0041", " "};
    std::string out;
    for (size_t i = pick(4); i > 0; --i) {
        out += parts[pick(parts.size())];
    }
    return (out);
}

const char* const CONTEXTS[] = {
    "{ }", "{ \"a\": 1 }", "{ \"ISC\": { \"relay-agent-info\": { \"sub-options\": \"0x0104\" } } }",
    "{ \"z\": [ 1, -2, true, null, \"x\\\"y\" ], \"b\": { \"c\": 1.5 } }",
    "{ \"comment\": \"caf\\u00e9\", \"list\": [ ] }"};

int64_t edge(const std::vector<int64_t>& edges, int64_t random) {
    return (pick(3) == 0 ? edges[pick(edges.size())] : random);
}
} // namespace

int main() {
    size_t compared = 0, with_context = 0, without_client_id = 0;
    for (int i = 0; i < 20000; ++i) {
        IOAddress address = IOAddress(static_cast<uint32_t>(rng()));
        HWAddrPtr hwaddr(new HWAddr(bytes(pick(21)), HTYPE_ETHER));
        ClientIdPtr client_id;
        if (pick(4) != 0) {
            client_id.reset(new ClientId(bytes(2 + pick(30))));
        } else {
            ++without_client_id;
        }
        uint32_t valid = static_cast<uint32_t>(edge({0, 1, 3600, 0xffffffff}, rng() & 0xffffffff));
        time_t cltt = static_cast<time_t>(edge({0, 1, 1700000000, -1, 4102444800},
                                               static_cast<int64_t>(rng() >> 24)));
        SubnetID subnet = static_cast<SubnetID>(edge({0, 1, 0xffffffff}, rng() & 0xffffffff));
        Lease4Ptr lease(new Lease4(address, hwaddr, client_id, valid, cltt, subnet,
                                   pick(2) == 0, pick(2) == 0, hostname()));
        lease->state_ = static_cast<uint32_t>(edge({0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff},
                                                   pick(4)));
        if (pick(3) == 0) {
            lease->setContext(Element::fromJSON(CONTEXTS[pick(sizeof(CONTEXTS) / sizeof(*CONTEXTS))]));
            ++with_context;
        }
        for (const char* name : {"lease4-update", "lease4-del"}) {
            std::string ours = isc::hamux::lease4Command(name, lease);
            std::string theirs = oracle(name, lease);
            if (ours != theirs) {
                std::printf("lease %d differs\n ours:   %s\n theirs: %s\n", i, ours.c_str(),
                            theirs.c_str());
                return (1);
            }
            ++compared;
        }
    }
    std::printf("%zu commands alike (%zu with a user-context, %zu without a client-id)\n",
                compared, with_context, without_client_id);
    return (0);
}
"#;

#[test]
fn the_hooks_lease4_commands_are_libdhcp_has() {
    let driver = Driver {
        name: "kea-lease-cmds",
        source: DRIVER,
        hook_sources: &["kea/lease_commands.cc", "kea/json_writer.cc"],
        libs: &[
            "-lkea-dhcpsrv",
            "-lkea-dhcp++",
            "-lkea-asiolink",
            "-lkea-cc",
            "-lkea-util",
            "-lkea-exceptions",
        ],
        needs_header: "/usr/include/kea/dhcpsrv/lease.h",
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let Some(stdout) = driver.run(&root, tmp, "the hook's lease commands and libdhcp_ha's") else {
        return;
    };
    assert!(stdout.contains("40000 commands alike"), "{stdout}");
    println!("{stdout}");
}
