// Copyright (C) 2026 The hamux authors. MPL-2.0.

#include <lease_sync.h>
#include <hamux_log.h>
#include <hamux_json.h>
#include <json_writer.h>

#include <asiolink/io_address.h>
#include <cc/command_interpreter.h>
#include <config/command_mgr.h>

#include <sstream>

using namespace isc::asiolink;
using namespace isc::config;
using namespace isc::data;

namespace isc {
namespace hamux {

namespace {

/// @brief Runs a command on this server (main thread) through Kea's command manager.
ConstElementPtr
runLocally(const std::string& name, const ElementPtr& arguments) {
    return (CommandMgr::instance().processCommand(createCommand(name, arguments)));
}

/// @brief An integer of a lease map, or @c dflt.
int64_t
integerOf(const ConstElementPtr& lease, const std::string& key, int64_t dflt) {
    ConstElementPtr value = lease ? lease->get(key) : ConstElementPtr();
    return (value && value->getType() == Element::integer ? value->intValue() : dflt);
}

} // namespace

LeaseSync::LeaseSync(bool v6, const std::string& partner, uint32_t page_limit,
                     uint32_t max_period_s, Sender send, Done done)
    : v6_(v6), partner_(partner), page_limit_(page_limit),
      max_period_s_(max_period_s), send_(std::move(send)),
      done_(std::move(done)) {
}

std::string
LeaseSync::command(const std::string& name, const ElementPtr& arguments) const {
    ElementPtr command = Element::createMap();
    command->set("command", Element::create(name));
    if (arguments) {
        command->set("arguments", arguments);
    }
    ElementPtr service = Element::createList();
    service->add(Element::create(v6_ ? "dhcp6" : "dhcp4"));
    command->set("service", service);
    return (toJson(command));
}

void
LeaseSync::deliver(hamux_status status, const std::string& reply, const Answered& done) {
    if (status != HAMUX_OK) {
        done(ConstElementPtr(), std::string(hamux_status_name(status)) + ": " + reply);
        return;
    }
    ConstElementPtr answer;
    try {
        answer = keaAnswer(reply);
    } catch (const std::exception& ex) {
        done(ConstElementPtr(), std::string("not a Kea answer (") + ex.what() + "): " +
             reply.substr(0, 200));
        return;
    }
    done(answer, "");
}

void
LeaseSync::start() {
    started_ = std::chrono::steady_clock::now();
    LOG_INFO(hamux_logger, HAMUX_SYNC_START).arg(partner_);
    disablePartner();
}

void
LeaseSync::disablePartner() {
    ElementPtr arguments = Element::createMap();
    arguments->set("origin", Element::create("ha-partner"));
    if (max_period_s_ > 0) {
        arguments->set("max-period", Element::create(static_cast<int64_t>(max_period_s_)));
    }
    send_(command("dhcp-disable", arguments),
          [this](const ConstElementPtr& answer, const std::string& error) {
              std::string text = error;
              if (!answer || answerResult(answer, text) != CONTROL_RESULT_SUCCESS) {
                  finish("dhcp-disable on " + partner_ + " failed: " + text);
                  return;
              }
              partner_disabled_ = true;
              getPage();
          });
}

void
LeaseSync::getPage() {
    ElementPtr arguments = Element::createMap();
    arguments->set("from", Element::create(from_));
    arguments->set("limit", Element::create(static_cast<int64_t>(page_limit_)));
    send_(command(v6_ ? "lease6-get-page" : "lease4-get-page", arguments),
          [this](const ConstElementPtr& answer, const std::string& error) {
              if (!answer) {
                  finish("lease page from " + partner_ + ": " + error);
                  return;
              }
              onPage(answer);
          });
}

void
LeaseSync::onPage(const ConstElementPtr& answer) {
    std::string text;
    int result = answerResult(answer, text);
    if (result != CONTROL_RESULT_SUCCESS && result != CONTROL_RESULT_EMPTY) {
        std::ostringstream why;
        why << "lease page from " << partner_ << " refused (result " << result << "): "
            << text;
        finish(why.str());
        return;
    }
    ConstElementPtr arguments = answer->get("arguments");
    ConstElementPtr leases = arguments && arguments->getType() == Element::map
                             ? arguments->get("leases") : ConstElementPtr();
    if (result == CONTROL_RESULT_SUCCESS &&
        (!leases || leases->getType() != Element::list)) {
        finish("lease page from " + partner_ + " has no list of leases: " + answer->str());
        return;
    }
    size_t count = leases && leases->getType() == Element::list ? leases->size() : 0;
    ++pages_;
    received_ += count;
    // Pages come in address order: the last lease's address ends the page's range.
    std::string last;
    for (size_t i = 0; i < count; ++i) {
        ConstElementPtr lease = leases->get(i);
        ConstElementPtr address = lease->getType() == Element::map
                                  ? lease->get("ip-address") : ConstElementPtr();
        if (address && address->getType() == Element::string) {
            last = address->stringValue();
        }
    }
    Cltts local;
    if (!last.empty()) {
        try {
            local = localCltts(from_, last);
        } catch (const std::exception& ex) {
            finish(std::string("reading this server's leases: ") + ex.what());
            return;
        }
    }
    for (size_t i = 0; i < count; ++i) {
        apply(leases->get(i), local);
    }
    LOG_INFO(hamux_logger, HAMUX_SYNC_PAGE_RECEIVED).arg(count).arg(partner_);
    if (count >= page_limit_ && !last.empty()) {
        from_ = last;
        disablePartner();  // before every page, as libdhcp_ha: max-period covers one
        return;
    }
    finish("");
}

std::string
LeaseSync::keyOf(const ConstElementPtr& lease) const {
    ConstElementPtr address = lease->getType() == Element::map ? lease->get("ip-address")
                                                               : ConstElementPtr();
    if (!address || address->getType() != Element::string) {
        isc_throw(BadValue, "no ip-address in " << lease->str());
    }
    if (!v6_) {
        return (address->stringValue());
    }
    ConstElementPtr type = lease->get("type");
    return (address->stringValue() + " " +
            (type && type->getType() == Element::string ? type->stringValue() : "IA_NA"));
}

LeaseSync::Cltts
LeaseSync::localCltts(const std::string& from, const std::string& last) const {
    const IOAddress end(last);
    const std::string name = v6_ ? "lease6-get-page" : "lease4-get-page";
    Cltts cltts;
    std::string after = from;
    for (;;) {
        ElementPtr arguments = Element::createMap();
        arguments->set("from", Element::create(after));
        arguments->set("limit", Element::create(static_cast<int64_t>(page_limit_)));
        ConstElementPtr answer = runLocally(name, arguments);
        std::string text;
        int result = answerResult(answer, text);
        if (result == CONTROL_RESULT_EMPTY) {
            return (cltts);
        }
        ConstElementPtr args = answer->get("arguments");
        ConstElementPtr leases = args && args->getType() == Element::map ? args->get("leases")
                                                                         : ConstElementPtr();
        if (result != CONTROL_RESULT_SUCCESS || !leases || leases->getType() != Element::list) {
            isc_throw(Unexpected, name << ": " << (text.empty() ? answer->str() : text));
        }
        for (size_t i = 0; i < leases->size(); ++i) {
            ConstElementPtr lease = leases->get(i);
            std::string key = keyOf(lease);
            after = lease->get("ip-address")->stringValue();
            if (end < IOAddress(after)) {
                return (cltts);
            }
            cltts[key] = integerOf(lease, "cltt", 0);
        }
        if (leases->size() < page_limit_) {
            return (cltts);
        }
    }
}

bool
LeaseSync::apply(const ConstElementPtr& lease, const Cltts& local) {
    try {
        if (lease->getType() != Element::map) {
            isc_throw(BadValue, "not a lease map: " << lease->str());
        }
        auto ours = local.find(keyOf(lease));
        // libdhcp_ha: the partner's lease replaces ours only if it is newer.
        if (ours != local.end() && integerOf(lease, "cltt", 0) <= ours->second) {
            ++skipped_;
            return (true);
        }
        std::string text;
        // lease_cmds takes "expire", not "cltt" (libdhcp_ha's insertLeaseExpireTime).
        ElementPtr update = isc::data::copy(lease);
        int64_t cltt = integerOf(lease, "cltt", -1);
        int64_t valid = integerOf(lease, "valid-lft", -1);
        if (cltt < 0 || valid < 0) {
            isc_throw(BadValue, "no cltt or valid-lft in " << lease->str());
        }
        update->remove("cltt");
        update->set("expire", Element::create(cltt + valid));
        update->set("force-create", Element::create(true));
        ConstElementPtr applied = runLocally(v6_ ? "lease6-update" : "lease4-update", update);
        if (answerResult(applied, text) != CONTROL_RESULT_SUCCESS) {
            isc_throw(Unexpected, (v6_ ? "lease6-update: " : "lease4-update: ") << text);
        }
        ++applied_;
        return (true);
    } catch (const std::exception& ex) {
        LOG_WARN(hamux_logger, HAMUX_SYNC_LEASE_FAILED).arg(partner_).arg(ex.what());
        return (false);
    }
}

void
LeaseSync::finish(const std::string& error) {
    if (!partner_disabled_) {
        end(error);
        return;
    }
    if (!error.empty()) {
        enablePartner(error);
        return;
    }
    send_(command("ha-sync-complete-notify", ElementPtr()),
          [this](const ConstElementPtr& answer, const std::string& failure) {
              std::string text = failure;
              int result = answer ? answerResult(answer, text) : CONTROL_RESULT_ERROR;
              if (result == CONTROL_RESULT_COMMAND_UNSUPPORTED) {
                  enablePartner("");  // a partner older than ha-sync-complete-notify
              } else if (result != CONTROL_RESULT_SUCCESS) {
                  end("ha-sync-complete-notify on " + partner_ + " failed: " + text);
              } else {
                  end("");
              }
          });
}

void
LeaseSync::enablePartner(const std::string& error) {
    ElementPtr arguments = Element::createMap();
    arguments->set("origin", Element::create("ha-partner"));
    send_(command("dhcp-enable", arguments),
          [this, error](const ConstElementPtr& answer, const std::string& failure) {
              std::string text = failure;
              if (error.empty() &&
                  (!answer || answerResult(answer, text) != CONTROL_RESULT_SUCCESS)) {
                  end("dhcp-enable on " + partner_ + " failed: " + text);
                  return;
              }
              end(error);
          });
}

void
LeaseSync::end(const std::string& error) {
    if (ended_) {
        return;
    }
    ended_ = true;
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started_).count();
    if (error.empty()) {
        LOG_INFO(hamux_logger, HAMUX_SYNC_SUCCESSFUL).arg(partner_).arg(received_)
            .arg(applied_).arg(skipped_).arg(elapsed);
    } else {
        LOG_ERROR(hamux_logger, HAMUX_SYNC_FAILED).arg(partner_).arg(error);
    }
    // Last: the owner may destroy this object from @c done_.
    Done done = done_;
    done(error);
}

} // namespace hamux
} // namespace isc
