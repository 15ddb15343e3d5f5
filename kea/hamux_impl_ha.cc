// Copyright (C) 2026 The hamux authors. MPL-2.0.
//
// HamuxImpl's part for libdhcp_ha's failover: the query filter callouts, the HA
// commands on Kea's command channel and status-get's HA part. The state machine itself
// is HaService (ha_service.cc).

#include <hamux_impl.h>
#include <hamux_log.h>
#include <lease_sync.h>

#include <cc/command_interpreter.h>
#include <dhcp/option.h>
#include <stats/stats_mgr.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <poll.h>

using namespace isc::data;
using namespace isc::dhcp;
using namespace isc::hooks;

namespace isc {
namespace hamux {

hamux_status
HamuxImpl::waitForControl(LeaseSender& sender, bool poll, const PeerConfig& peer,
                          const std::string& request, std::string& body) {
    struct Wait {
        std::mutex mutex;
        std::condition_variable cv;
        bool done = false;
        hamux_status status = HAMUX_E_CANCELLED;
        std::string body;
    };
    auto wait = std::make_shared<Wait>();
    bool sent = sender.sendControl(peer, request,
                                   [wait](hamux_status status, const std::string& text) {
        std::lock_guard<std::mutex> lock(wait->mutex);
        wait->status = status;
        wait->body = text;
        wait->done = true;
        wait->cv.notify_all();
    });
    if (!sent) {
        body = std::string("the hook's client refused the request: ") + hamux_last_error();
        return (HAMUX_E_CONNECT);
    }
    // Every request completes by the client's request timeout at the latest.
    if (poll) {
        // Single-threaded Kea: the answer comes through dispatch, on this thread.
        for (;;) {
            {
                std::lock_guard<std::mutex> lock(wait->mutex);
                if (wait->done) {
                    break;
                }
            }
            struct pollfd pfd = {sender.fd(), POLLIN, 0};
            ::poll(&pfd, 1, 100);
            sender.dispatch();
        }
    } else {
        std::unique_lock<std::mutex> lock(wait->mutex);
        wait->cv.wait(lock, [&wait]() { return (wait->done); });
    }
    std::lock_guard<std::mutex> lock(wait->mutex);
    body = wait->body;
    return (wait->status);
}

HaServicePtr
HamuxImpl::serviceNamed(const std::string& command, const ConstElementPtr& args) const {
    // As libdhcp_ha 2.5.5+'s getHAServiceByServerName: any server of a relationship
    // names it; with no name, the first relationship's.
    if (!scoped_by_subnet_ || !args || args->getType() != Element::map) {
        return (failoverService());
    }
    ConstElementPtr server_name = args->get("server-name");
    if (!server_name) {
        return (failoverService());
    }
    if (server_name->getType() != Element::string) {
        isc_throw(isc::BadValue, "'server-name' must be a string in the '" << command
                  << "' command");
    }
    for (size_t r = 0; r < config_->relationships.size(); ++r) {
        if (config_->relationships[r].hasServer(server_name->stringValue())) {
            return (r < services_.size() ? services_[r] : HaServicePtr());
        }
    }
    isc_throw(isc::BadValue, server_name->stringValue() << " matches no configured"
              " 'server-name'");
}

ConstElementPtr
HamuxImpl::everyService(const std::string& name) {
    // As libdhcp_ha 2.5.5+: each relationship in turn; a start stops at the first
    // refusal, a cancel goes through all; the last answer is the command's.
    ConstElementPtr answer = isc::config::createAnswer(isc::config::CONTROL_RESULT_ERROR,
                                                       "libdhcp_hamux is not started: " +
                                                       not_started_);
    for (auto const& service : services_) {
        if (!service) {
            continue;
        }
        if (name == "ha-maintenance-start") {
            answer = service->maintenanceStartCommand();
            int result = isc::config::CONTROL_RESULT_ERROR;
            isc::config::parseAnswer(result, answer);
            if (result != isc::config::CONTROL_RESULT_SUCCESS) {
                break;
            }
        } else {
            answer = service->maintenanceCancelCommand();
        }
    }
    return (answer);
}

HaServicePtr
HamuxImpl::failoverService() const {
    for (auto const& service : services_) {
        if (service) {
            return (service);
        }
    }
    return (HaServicePtr());
}

template<typename QueryPtr>
void
HamuxImpl::bufferReceived(CalloutHandle& handle, const char* query_name, bool v6) {
    // Several relationships: the subnet decides, later (hamux_impl_scope.cc).
    HaServicePtr service = scoped_by_subnet_ ? HaServicePtr() : failoverService();
    if (!service || handle.getStatus() == CalloutHandle::NEXT_STEP_DROP) {
        return;
    }
    QueryPtr query;
    handle.getArgument(query_name, query);
    // As libdhcp_ha's buffer4_receive / buffer6_receive: parsed here for the scope
    // check (so Kea must not parse it again: SKIP), dropped if it cannot be.
    if (handle.getStatus() != CalloutHandle::NEXT_STEP_SKIP) {
        try {
            query->unpack();
        } catch (const SkipRemainingOptionsError&) {
            // Kea goes on with the options parsed so far.
        } catch (const std::exception& ex) {
            LOG_DEBUG(hamux_logger, DBGLVL_HAMUX_PACKET, HAMUX_QUERY_UNPACK_FAILED)
                .arg(query->getLabel()).arg(ex.what());
            isc::stats::StatsMgr::instance().addValue(v6 ? "pkt6-parse-failed"
                                                      : "pkt4-parse-failed",
                                                      static_cast<int64_t>(1));
            isc::stats::StatsMgr::instance().addValue(v6 ? "pkt6-receive-drop"
                                                      : "pkt4-receive-drop",
                                                      static_cast<int64_t>(1));
            handle.setStatus(CalloutHandle::NEXT_STEP_DROP);
            return;
        }
    }
    if (!service->inScope(query)) {
        LOG_DEBUG(hamux_logger, DBGLVL_HAMUX_PACKET, HAMUX_QUERY_NOT_FOR_US)
            .arg(query->getLabel());
        handle.setStatus(CalloutHandle::NEXT_STEP_DROP);
        return;
    }
    handle.setStatus(CalloutHandle::NEXT_STEP_SKIP);
}

void
HamuxImpl::buffer4Receive(CalloutHandle& handle) {
    bufferReceived<Pkt4Ptr>(handle, "query4", false);
}

void
HamuxImpl::buffer6Receive(CalloutHandle& handle) {
    bufferReceived<Pkt6Ptr>(handle, "query6", true);
}

ConstElementPtr
HamuxImpl::syncCommand(const ConstElementPtr& args) {
    using isc::config::createAnswer;
    using isc::config::CONTROL_RESULT_ERROR;
    if (!args) {
        return (createAnswer(CONTROL_RESULT_ERROR, "arguments not found in the 'ha-sync'"
                             " command"));
    }
    if (args->getType() != Element::map) {
        return (createAnswer(CONTROL_RESULT_ERROR, "arguments in the 'ha-sync' command are"
                             " not a map"));
    }
    ConstElementPtr server_name = args->get("server-name");
    if (!server_name) {
        return (createAnswer(CONTROL_RESULT_ERROR, "'server-name' is mandatory for the"
                             " 'ha-sync' command"));
    }
    if (server_name->getType() != Element::string) {
        return (createAnswer(CONTROL_RESULT_ERROR, "'server-name' must be a string in the"
                             " 'ha-sync' command"));
    }
    ConstElementPtr period = args->get("max-period");
    if (period && (period->getType() != Element::integer || period->intValue() <= 0 ||
                   period->intValue() > 4294967295LL)) {
        return (createAnswer(CONTROL_RESULT_ERROR, "'max-period' must be a positive integer"
                             " in the 'ha-sync' command"));
    }
    const RelationshipConfig* relationship = 0;
    const PeerConfig* peer = 0;
    for (auto const& candidate : config_->relationships) {
        for (size_t i = 0; i < candidate.peers.size(); ++i) {
            if (i != candidate.this_index &&
                candidate.peers[i].name == server_name->stringValue()) {
                relationship = &candidate;
                peer = &candidate.peers[i];
            }
        }
    }
    if (!peer) {
        return (createAnswer(CONTROL_RESULT_ERROR, "server '" + server_name->stringValue() +
                             "' is not a partner of this server"));
    }
    LeaseSenderPtr sender = sender_;
    if (!sender) {
        return (createAnswer(CONTROL_RESULT_ERROR, "libdhcp_hamux is not started: " +
                             not_started_));
    }
    // libdhcp_ha answers ha-sync once the sync is over: the requests are made one after
    // the other here, each waited for, through a queue rather than from each other's
    // callbacks (no recursion however many pages).
    std::deque<std::pair<std::string, LeaseSync::Answered> > requests;
    std::string error;
    bool done = false;
    bool poll = sockets_registered_;
    LeaseSync sync(settings_.v6, peer->name, relationship->failover.sync_page_limit,
                   period ? static_cast<uint32_t>(period->intValue()) : 0,
                   [&requests](const std::string& body, LeaseSync::Answered answered) {
                       requests.push_back(std::make_pair(body, answered));
                   },
                   [&error, &done](const std::string& failure) {
                       error = failure;
                       done = true;
                   });
    sync.start();
    while (!done && !requests.empty()) {
        auto request = requests.front();
        requests.pop_front();
        std::string body;
        hamux_status status = waitForControl(*sender, poll, *peer, request.first, body);
        LeaseSync::deliver(status, body, request.second);
    }
    if (!error.empty()) {
        return (createAnswer(CONTROL_RESULT_ERROR, error));
    }
    return (createAnswer(isc::config::CONTROL_RESULT_SUCCESS,
                         "Lease database synchronization complete."));
}

ConstElementPtr
HamuxImpl::haCommand(const std::string& name, const ConstElementPtr& arguments) {
    if (name == "ha-sync") {
        return (syncCommand(arguments));
    }
    if (scoped_by_subnet_ &&
        (name == "ha-maintenance-start" || name == "ha-maintenance-cancel")) {
        return (everyService(name));
    }
    HaServicePtr service;
    try {
        service = serviceNamed(name, arguments);
    } catch (const std::exception& ex) {
        return (isc::config::createAnswer(isc::config::CONTROL_RESULT_ERROR, ex.what()));
    }
    if (name == "ha-heartbeat") {
        if (service) {
            return (service->heartbeatAnswer());
        }
        // passive-backup: the listener that serves the named relationship answers.
        ConstElementPtr answer;
        for (auto const& listener : listeners_) {
            answer = listener->heartbeat(arguments);
            int result = isc::config::CONTROL_RESULT_ERROR;
            isc::config::parseAnswer(result, answer);
            if (result == isc::config::CONTROL_RESULT_SUCCESS) {
                break;
            }
        }
        if (!answer) {
            answer = isc::config::createAnswer(isc::config::CONTROL_RESULT_ERROR,
                                               "libdhcp_hamux is not started: " +
                                               not_started_);
        }
        return (answer);
    }
    if (name == "ha-continue") {
        if (service) {
            return (service->continueCommand());
        }
        // passive-backup: no state machine, so never paused (pausing is refused there).
        return (isc::config::createAnswer(isc::config::CONTROL_RESULT_SUCCESS,
                                          "HA state machine is not paused."));
    }
    if (!service) {
        // passive-backup has no state to reset or sync to complete, nor maintenance.
        if (name != "ha-reset" && name != "ha-sync-complete-notify") {
            return (isc::config::createAnswer(isc::config::CONTROL_RESULT_ERROR, "'" + name +
                                              "' needs the hot-standby mode: passive-backup"
                                              " has no failover"));
        }
        if (name == "ha-reset") {
            return (isc::config::createAnswer(isc::config::CONTROL_RESULT_SUCCESS,
                                              "HA state machine reset."));
        }
        return (isc::config::createAnswer(isc::config::CONTROL_RESULT_SUCCESS,
                                          "Server successfully notified about the"
                                          " synchronization completion."));
    }
    if (name == "ha-reset") {
        return (service->resetCommand());
    }
    if (name == "ha-scopes") {
        return (service->scopesCommand(arguments));
    }
    if (name == "ha-maintenance-notify") {
        return (service->maintenanceNotifyCommand(arguments));
    }
    if (name == "ha-maintenance-start") {
        return (service->maintenanceStartCommand());
    }
    if (name == "ha-maintenance-cancel") {
        return (service->maintenanceCancelCommand());
    }
    return (service->syncCompleteNotifyCommand());
}

void
HamuxImpl::commandProcessed(CalloutHandle& handle) {
    std::string name;
    handle.getArgument("name", name);
    if (name != "status-get") {
        return;
    }
    ConstElementPtr response;
    handle.getArgument("response", response);
    ConstElementPtr arguments = response && response->getType() == Element::map
                                ? response->get("arguments") : ConstElementPtr();
    if (!arguments || arguments->getType() != Element::map) {
        return;
    }
    ElementPtr relationships = Element::createList();
    for (size_t r = 0; r < config_->relationships.size(); ++r) {
        const RelationshipConfig& relationship = config_->relationships[r];
        ElementPtr entry = Element::createMap();
        entry->set("ha-mode", Element::create(relationship.mode));
        HaServicePtr service = r < services_.size() ? services_[r] : HaServicePtr();
        if (service) {
            entry->set("ha-servers", boost::const_pointer_cast<Element>(service->statusGet()));
        } else {
            // passive-backup: libdhcp_ha reports this server only.
            const PeerConfig& self = relationship.thisServer();
            bool primary = self.role == "primary";
            ElementPtr local = Element::createMap();
            local->set("role", Element::create(self.role));
            local->set("state", Element::create(primary ? "passive-backup" : "backup"));
            ElementPtr scopes = Element::createList();
            if (primary) {
                scopes->add(Element::create(self.name));
            }
            local->set("scopes", scopes);
            ElementPtr servers = Element::createMap();
            servers->set("local", local);
            entry->set("ha-servers", servers);
        }
        relationships->add(entry);
    }
    boost::const_pointer_cast<Element>(arguments)->set("high-availability", relationships);
}

} // namespace hamux
} // namespace isc
