// Copyright (C) 2026 The hamux authors. MPL-2.0.

#include <hamux_impl.h>
#include <hamux_log.h>
#include <hamux_stats.h>

#include <cc/command_interpreter.h>
#include <dhcp/iface_mgr.h>
#include <hooks/hooks_manager.h>
#include <util/multi_threading_mgr.h>

using namespace isc::data;
using namespace isc::dhcp;
using namespace isc::hooks;
using isc::util::MultiThreadingMgr;

namespace isc {
namespace hamux {

namespace {

/// @brief The name of the hook's critical-section callbacks.
const char* CS_CALLBACKS = "HAMUX";

/// @brief The multi-threading map of the server's configuration, or null.
ConstElementPtr
multiThreading(const ConstElementPtr& json_config) {
    if (!json_config || json_config->getType() != Element::map) {
        return (ConstElementPtr());
    }
    ConstElementPtr mt = json_config->get("multi-threading");
    return (mt && mt->getType() == Element::map ? mt : ConstElementPtr());
}

/// @brief A key of the multi-threading map, with Kea 2.2's default.
int64_t
mtInteger(const ConstElementPtr& json_config, const std::string& key, int64_t dflt) {
    ConstElementPtr mt = multiThreading(json_config);
    ConstElementPtr value = mt ? mt->get(key) : ConstElementPtr();
    return (value && value->getType() == Element::integer ? value->intValue() : dflt);
}

/// @brief Whether Kea runs multi-threaded (Kea 2.2's default: no).
bool
multiThreaded(const ConstElementPtr& json_config) {
    ConstElementPtr mt = multiThreading(json_config);
    ConstElementPtr value = mt ? mt->get("enable-multi-threading") : ConstElementPtr();
    return (value && value->getType() == Element::boolean && value->boolValue());
}

/// @brief The server's own map whether Kea passes {"Dhcp4": {...}} or its content.
ConstElementPtr
serverMap(const ConstElementPtr& json_config) {
    if (json_config && json_config->getType() == Element::map) {
        for (auto name : {"Dhcp4", "Dhcp6"}) {
            ConstElementPtr inner = json_config->get(name);
            if (inner && inner->getType() == Element::map) {
                return (inner);
            }
        }
    }
    return (json_config);
}

} // namespace

HamuxImpl::HamuxImpl(const ConstElementPtr& high_availability)
    : config_(parseHookConfig(high_availability)) {
}

HamuxImpl::~HamuxImpl() {
    if (network_state_) {
        // As ~HAService: the next load (or none) decides again.
        try {
            network_state_->reset(NetworkState::Origin::HA_COMMAND);
        } catch (const std::exception& ex) {
            LOG_ERROR(hamux_logger, HAMUX_CALLOUT_FAILED).arg("unload").arg(ex.what());
        }
    }
    if (cs_registered_) {
        MultiThreadingMgr::instance().removeCriticalSectionCallbacks(CS_CALLBACKS);
    }
    if (listener_) {
        listener_->close();
    }
    if (sender_) {
        sender_->dropFromNowOn();
    }
    if (sockets_registered_) {
        IfaceMgr::instance().deleteExternalSocket(sender_->fd());
        IfaceMgr::instance().deleteExternalSocket(listener_->fd());
    }
    main_.stop();
    if (listener_) {
        listener_->refuseSerial();
        std::string url = config_->thisServer().url.text;
        listener_.reset();
        LOG_INFO(hamux_logger, HAMUX_LISTENER_STOPPED).arg(url);
    }
    sender_.reset();
}

void
HamuxImpl::configured(const ConstElementPtr& json_config, bool v6,
                      const NetworkStatePtr& network_state) {
    ConstElementPtr server = serverMap(json_config);
    multi_threaded_ = multiThreaded(server);
    // Partners' lease updates are applied by lease_cmds' handlers (command_listener.h).
    std::string probe = v6 ? "lease6-bulk-apply" : "lease4-update";
    if (!HooksManager::commandHandlersPresent(probe)) {
        isc_throw(HamuxConfigError, "partners' lease updates are applied by"
                  " libdhcp_lease_cmds.so, which is not loaded: add it to"
                  " hooks-libraries (libdhcp_ha needs it too)");
    }
    // Single-threaded Kea: hamux runs no callback on its own threads; the descriptors
    // are served by Kea's main loop.
    bool poll = !multi_threaded_;
    sender_.reset(new LeaseSender(*config_, poll));
    listener_.reset(new CommandListener(*config_, poll, main_));
    stats::init();
    if (poll) {
        LeaseSenderPtr sender = sender_;
        CommandListenerPtr listener = listener_;
        IfaceMgr::instance().addExternalSocket(sender_->fd(),
                                               [sender](int) { sender->dispatch(); });
        IfaceMgr::instance().addExternalSocket(listener_->fd(),
                                               [listener](int) { listener->dispatch(); });
        sockets_registered_ = true;
    }
    CommandListenerPtr listener = listener_;
    if (multi_threaded_) {
        // hamux's handler threads keep out of Kea's critical sections like Kea's own
        // packet threads (reconfiguration recreates the lease manager).
        // The sender holds its unparks meanwhile (LeaseSender::pause).
        LeaseSenderPtr sender = sender_;
        MultiThreadingMgr::instance().addCriticalSectionCallbacks(
            CS_CALLBACKS, []() { CommandListener::checkPermissions(); },
            [listener, sender]() {
                sender->pause();
                listener->pause();
            },
            [listener, sender]() {
                listener->resume();
                sender->resume();
            });
        cs_registered_ = true;
    }
    main_.start();
    // Runs once Kea's main loop runs: configuration committed, multi-threading applied.
    main_.push([listener]() { listener->resume(); });
    const PeerConfig& self = config_->thisServer();
    LOG_INFO(hamux_logger, HAMUX_CONFIGURED).arg(self.name).arg(self.role)
        .arg(config_->mode).arg(config_->updateTargets().size())
        .arg(config_->wait_backup_ack ? "true" : "false").arg(self.url.text);
    LOG_INFO(hamux_logger, HAMUX_LISTENER_STARTED).arg(self.url.text)
        .arg(listener_->port()).arg(multi_threaded_ ? "on hamux's handler threads"
                                                    : "on Kea's thread");
    checkParkingSettings(server);
    network_state_ = network_state;
    adjustNetworkState();
}

void
HamuxImpl::adjustNetworkState() {
    if (!network_state_) {
        return;
    }
    network_state_->reset(NetworkState::Origin::HA_COMMAND);
    const PeerConfig& self = config_->thisServer();
    if (self.role == "backup") {
        LOG_INFO(hamux_logger, HAMUX_LOCAL_DHCP_DISABLE).arg(self.name);
        network_state_->disableService(NetworkState::Origin::HA_COMMAND);
    }
}

void
HamuxImpl::checkParkingSettings(const ConstElementPtr& json_config) const {
    if (!config_->wait_backup_ack || !sender_->hasTargets()) {
        return;
    }
    int64_t queue = mtInteger(json_config, "packet-queue-size", 64);
    if (multi_threaded_ && queue != 0) {
        LOG_WARN(hamux_logger, HAMUX_PACKET_QUEUE_BOUNDED).arg(queue);
    }
    int64_t limit = 256;  // Kea 2.2's default
    ConstElementPtr configured = json_config ? json_config->get("parked-packet-limit")
                                             : ConstElementPtr();
    if (configured && configured->getType() == Element::integer) {
        limit = configured->intValue();
    }
    if (limit != 0) {
        LOG_WARN(hamux_logger, HAMUX_PARKED_PACKET_LIMIT).arg(limit);
    }
}

template<typename QueryPtr, typename Collection>
void
HamuxImpl::committed(CalloutHandle& handle, const char* query_name,
                     const char* leases_name, const char* deleted_name) {
    if (!sender_ || !sender_->hasTargets()) {
        return;
    }
    // An earlier library dropped or skipped the query: nothing to replicate or park,
    // as libdhcp_ha decides.
    if (handle.getStatus() == CalloutHandle::NEXT_STEP_DROP ||
        handle.getStatus() == CalloutHandle::NEXT_STEP_SKIP) {
        return;
    }
    QueryPtr query;
    boost::shared_ptr<Collection> leases;
    boost::shared_ptr<Collection> deleted;
    handle.getArgument(query_name, query);
    handle.getArgument(leases_name, leases);
    handle.getArgument(deleted_name, deleted);
    if ((!leases || leases->empty()) && (!deleted || deleted->empty())) {
        return;  // e.g. a DHCPNAK
    }
    if (!leases) {
        leases.reset(new Collection());
    }
    if (!deleted) {
        deleted.reset(new Collection());
    }
    ParkingLotHandlePtr lot;
    if (config_->wait_backup_ack) {
        lot = handle.getParkingLotHandlePtr();
    }
    if (sender_->send(query, leases, deleted, lot) > 0) {
        handle.setStatus(CalloutHandle::NEXT_STEP_PARK);
    }
}

void
HamuxImpl::leases4Committed(CalloutHandle& handle) {
    committed<Pkt4Ptr, Lease4Collection>(handle, "query4", "leases4", "deleted_leases4");
}

void
HamuxImpl::leases6Committed(CalloutHandle& handle) {
    committed<Pkt6Ptr, Lease6Collection>(handle, "query6", "leases6", "deleted_leases6");
}

ConstElementPtr
HamuxImpl::status() const {
    if (!sender_ || !listener_) {
        return (isc::config::createAnswer(isc::config::CONTROL_RESULT_ERROR,
                                          "libdhcp_hamux is not started yet"));
    }
    ElementPtr arguments = Element::createMap();
    arguments->set("client", boost::const_pointer_cast<Element>(sender_->stats()));
    arguments->set("listener", boost::const_pointer_cast<Element>(listener_->stats()));
    arguments->set("this-server-name", Element::create(config_->this_server_name));
    arguments->set("mode", Element::create(config_->mode));
    return (isc::config::createAnswer(isc::config::CONTROL_RESULT_SUCCESS,
                                      "hamux status returned.", arguments));
}

} // namespace hamux
} // namespace isc
