// Copyright (C) 2026 The hamux authors. MPL-2.0.

#include <hamux_impl.h>
#include <hamux_log.h>
#include <hamux_stats.h>

#include <cc/command_interpreter.h>
#include <config/command_mgr.h>
#include <dhcp/iface_mgr.h>
#include <hooks/hooks_manager.h>
#include <hooks/server_hooks.h>
#include <util/multi_threading_mgr.h>

#include <boost/weak_ptr.hpp>

using namespace isc::config;
using namespace isc::data;
using namespace isc::dhcp;
using namespace isc::hooks;
using isc::util::MultiThreadingCriticalSection;
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

/// @brief The lease-database type ("memfile", Kea's default, "mysql", ...).
std::string
leaseBackend(const ConstElementPtr& server) {
    ConstElementPtr database = server && server->getType() == Element::map
                               ? server->get("lease-database") : ConstElementPtr();
    ConstElementPtr type = database && database->getType() == Element::map
                           ? database->get("type") : ConstElementPtr();
    return (type && type->getType() == Element::string ? type->stringValue() : "memfile");
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
    : config_(parseHookConfig(high_availability)), has_targets_(false), waits_(false) {
    for (auto const& relationship : config_->relationships) {
        bool backups = !relationship.updateTargets().empty();
        // hot-standby: the partner's updates are always waited for (libdhcp_ha).
        bool partner = relationship.send_lease_updates && relationship.failoverPeer();
        has_targets_ = has_targets_ || backups || partner;
        waits_ = waits_ || (backups && relationship.wait_backup_ack) || partner;
        failover_ = failover_ || relationship.failoverMode();
    }
    // Hub and spoke: a query's relationship is its subnet's (hamux_impl_scope.cc).
    scoped_by_subnet_ = failover_ && config_->relationships.size() > 1;
    if (scoped_by_subnet_) {
        checkSubnetHeaders();
    }
    // kea-dhcp6 registers this hook point, kea-dhcp4 does not: what a start without
    // dhcpX_srv_configured (libreload) goes by.
    settings_.v6 = ServerHooks::getServerHooks().findIndex("dhcp6_srv_configured") >= 0;
    main_.start();
    // Runs once Kea's main loop runs. After a reconfiguration, dhcpX_srv_configured has
    // started the hook by then; after libreload (which does not call it) this starts it.
    main_.push([this]() { reconcile(); });
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
    if (disabled_by_command_) {
        // Started by libreload without the network state: undone the way it was done.
        try {
            dhcpServiceCommand("dhcp-enable");
        } catch (const std::exception& ex) {
            LOG_ERROR(hamux_logger, HAMUX_CALLOUT_FAILED).arg("unload").arg(ex.what());
        }
    }
    main_.stop();
    stop();
}

void
HamuxImpl::configured(const ConstElementPtr& json_config, bool v6,
                      const NetworkStatePtr& network_state) {
    ConstElementPtr server = serverMap(json_config);
    Settings settings;
    settings.v6 = v6;
    settings.multi_threaded = multiThreaded(server);
    settings.packet_queue_size = mtInteger(server, "packet-queue-size", 64);
    // Kea 2.2's thread-pool-size (0, its default: as many as the cores). Multi-threading
    // settings are applied after this callout, so they are read from the configuration.
    int64_t pool = mtInteger(server, "thread-pool-size", 0);
    config_->dhcp_threads = !settings.multi_threaded ? 0
                            : pool > 0 ? pool : MultiThreadingMgr::detectThreadCount();
    config_->lease_backend_in_memory = leaseBackend(server) == "memfile";
    ConstElementPtr limit = server && server->getType() == Element::map
                            ? server->get("parked-packet-limit") : ConstElementPtr();
    if (limit && limit->getType() == Element::integer) {
        settings.parked_packet_limit = limit->intValue();
    }
    // A backup does not serve, started or not.
    network_state_ = network_state;
    adjustNetworkState();
    try {
        config_->mapSubnets(server, v6);
        start(settings);
    } catch (const std::exception& ex) {
        not_started_ = ex.what();
        throw;
    }
}

void
HamuxImpl::start(const Settings& settings) {
    // Partners' lease updates are applied by lease_cmds' handlers (command_listener.h).
    std::string probe = settings.v6 ? "lease6-bulk-apply" : "lease4-update";
    if (!HooksManager::commandHandlersPresent(probe)) {
        isc_throw(HamuxConfigError, "partners' lease updates are applied by"
                  " libdhcp_lease_cmds.so, which is not loaded: add it to"
                  " hooks-libraries (libdhcp_ha needs it too)");
    }
    stats::init();
    // Single-threaded Kea: hamux runs no callback on its own threads; the descriptors
    // are served by Kea's main loop.
    bool poll = !settings.multi_threaded;
    // All or nothing: what is made here is kept only once everything is in place, and
    // undone (in reverse) if anything fails, so a refused configuration leaves nothing
    // running (a sender without its listener would replicate for a refused
    // configuration, or keep Kea's packets parked).
    // hot-standby: each relationship's state machine, started once all is in place.
    // Several of them share Kea's DHCP service through a gate (service_gate.h).
    std::vector<HaServicePtr> services;
    ServiceGatePtr gate;
    if (scoped_by_subnet_) {
        gate.reset(new ServiceGate(network_state_, config_->relationships.size()));
    }
    for (size_t r = 0; r < config_->relationships.size(); ++r) {
        const RelationshipConfig& relationship = config_->relationships[r];
        services.push_back(relationship.failoverMode()
                           ? HaServicePtr(new HaService(relationship, settings.v6,
                                                        network_state_, main_, gate, r))
                           : HaServicePtr());
    }
    LeaseSenderPtr sender(new LeaseSender(*config_, poll, services));
    std::vector<CommandListenerPtr> listeners;
    bool sender_socket = false, cs = false;
    size_t listener_sockets = 0;
    try {
        for (auto const& group : config_->listenerGroups()) {
            listeners.push_back(CommandListenerPtr(new CommandListener(*config_, group,
                                                                       poll, main_,
                                                                       services)));
        }
        if (poll) {
            IfaceMgr::instance().addExternalSocket(sender->fd(),
                                                   [sender](int) { sender->dispatch(); });
            sender_socket = true;
            for (auto const& listener : listeners) {
                IfaceMgr::instance().addExternalSocket(
                    listener->fd(), [listener](int) { listener->dispatch(); });
                ++listener_sockets;
            }
        } else {
            registerCriticalSection(sender, listeners);
            cs = true;
        }
    } catch (...) {
        if (cs) {
            MultiThreadingMgr::instance().removeCriticalSectionCallbacks(CS_CALLBACKS);
        }
        for (size_t i = 0; i < listener_sockets; ++i) {
            IfaceMgr::instance().deleteExternalSocket(listeners[i]->fd());
        }
        if (sender_socket) {
            IfaceMgr::instance().deleteExternalSocket(sender->fd());
        }
        // In reverse: the last bound first.
        while (!listeners.empty()) {
            listeners.pop_back();
        }
        sender->dropFromNowOn();
        sender.reset();
        throw;
    }
    sender_ = sender;
    listeners_ = listeners;
    services_ = services;
    multi_threaded_ = settings.multi_threaded;
    sockets_registered_ = poll;
    cs_registered_ = !poll;
    settings_ = settings;
    not_started_.clear();
    not_started_logged_ = false;
    for (auto const& relationship : config_->relationships) {
        const PeerConfig& self = relationship.thisServer();
        LOG_INFO(hamux_logger, HAMUX_CONFIGURED).arg(self.name).arg(self.role)
            .arg(relationship.mode)
            .arg(relationship.updateTargets().size() +
                 (relationship.send_lease_updates && relationship.failoverPeer() ? 1 : 0))
            .arg(relationship.wait_backup_ack ? "true" : "false").arg(self.url.text);
    }
    for (auto const& listener : listeners_) {
        LOG_INFO(hamux_logger, HAMUX_LISTENER_STARTED).arg(listener->url())
            .arg(listener->port())
            .arg(!multi_threaded_ ? "updates applied on Kea's thread"
                 : listener->appliesInline()
                 ? "updates applied on hamux's IO threads as they are read"
                 : "updates applied on hamux's handler threads");
    }
    checkParkingSettings(settings);
    // The sender outlives the services' use of it (stop() stops them first).
    boost::weak_ptr<LeaseSender> weak_sender = sender_;
    bool poll_mode = poll;
    if (gate) {
        gate->reset();
    }
    for (auto const& service : services_) {
        if (service) {
            service->start(
                [weak_sender](const PeerConfig& peer, const std::string& body,
                              ControlAnswered done) {
                    LeaseSenderPtr sender = weak_sender.lock();
                    return (sender && sender->sendControl(peer, body, std::move(done)));
                },
                [weak_sender, poll_mode](const PeerConfig& peer, const std::string& request,
                                         std::string& body) {
                    LeaseSenderPtr sender = weak_sender.lock();
                    if (!sender) {
                        body = "the hook is not started";
                        return (HAMUX_E_SHUTDOWN);
                    }
                    return (waitForControl(*sender, poll_mode, peer, request, body));
                });
        }
    }
}

void
HamuxImpl::registerCriticalSection(const LeaseSenderPtr& sender,
                                   const std::vector<CommandListenerPtr>& listeners) {
    // hamux's handler threads keep out of Kea's critical sections like Kea's own
    // packet threads (reconfiguration recreates the lease manager).
    // The sender holds its unparks meanwhile (LeaseSender::pause).
    MultiThreadingMgr::instance().removeCriticalSectionCallbacks(CS_CALLBACKS);
    MultiThreadingMgr::instance().addCriticalSectionCallbacks(
        CS_CALLBACKS, []() { CommandListener::checkPermissions(); },
        [this, listeners, sender]() {
            sender->pause();
            for (auto const& listener : listeners) {
                listener->pause();
            }
            // Kea 2.2 may end the section without the exit callbacks: a config-set
            // that fails removes every callback (MultiThreadingMgr::apply(false)) and
            // may leave Kea single-threaded. The main loop's next turn, after the
            // section, checks (reconcile); the hook is never left paused.
            try {
                main_.push([this]() { reconcile(); });
            } catch (const std::exception& ex) {
                LOG_ERROR(hamux_logger, HAMUX_CALLOUT_FAILED).arg("critical section")
                    .arg(ex.what());
            }
        },
        [listeners, sender]() {
            for (auto const& listener : listeners) {
                listener->resume();
            }
            sender->resume();
        });
}

void
HamuxImpl::stop() {
    // The state machines first: no heartbeat or sync step starts from here on.
    for (auto const& service : services_) {
        if (service) {
            service->stop();
        }
    }
    if (cs_registered_) {
        MultiThreadingMgr::instance().removeCriticalSectionCallbacks(CS_CALLBACKS);
        cs_registered_ = false;
    }
    for (auto const& listener : listeners_) {
        listener->close();
    }
    if (sender_) {
        sender_->dropFromNowOn();
    }
    if (sockets_registered_) {
        IfaceMgr::instance().deleteExternalSocket(sender_->fd());
        for (auto const& listener : listeners_) {
            IfaceMgr::instance().deleteExternalSocket(listener->fd());
        }
        sockets_registered_ = false;
    }
    while (!listeners_.empty()) {
        // Answers the commands still waiting for the main thread, then drains.
        std::string url = listeners_.back()->url();
        listeners_.pop_back();
        LOG_INFO(hamux_logger, HAMUX_LISTENER_STOPPED).arg(url);
    }
    sender_.reset();
    // Only now: the sender's last callbacks may still have told them of failures.
    services_.clear();
}

void
HamuxImpl::reconcile() {
    MultiThreadingMgr& mt = MultiThreadingMgr::instance();
    if (started() && mt.getMode() == multi_threaded_) {
        if (multi_threaded_) {
            // The gate opens only now that Kea is multi-threaded for real. The
            // callbacks again, in case Kea removed them without calling the exit ones.
            registerCriticalSection(sender_, listeners_);
            for (auto const& listener : listeners_) {
                listener->resume();
            }
            sender_->resume();
        }
        return;
    }
    if (!network_state_ && !disabled_by_command_ && config_->role() == "backup" &&
        !failover_) {
        // libreload: Kea passes no network state; a backup still does not serve.
        try {
            dhcpServiceCommand("dhcp-disable");
            disabled_by_command_ = true;
            LOG_INFO(hamux_logger, HAMUX_LOCAL_DHCP_DISABLE)
                .arg(config_->relationships[0].this_server_name);
        } catch (const std::exception& ex) {
            LOG_ERROR(hamux_logger, HAMUX_START_FAILED).arg(ex.what());
        }
    }
    // Not started: libreload, or Kea refused the configuration (tried once more). Or
    // Kea's mode is not the one the hook started in: Kea 2.2 applies multi-threading
    // after dhcpX_srv_configured and a failed config-set can leave it single-threaded,
    // and a multi-threaded hook in a single-threaded Kea would run lease_cmds and
    // unparks on its own threads beside Kea's. Started (again) in Kea's mode, with its
    // packet threads (if any) stopped meanwhile.
    Settings settings;
    settings.v6 = settings_.v6;
    settings.multi_threaded = mt.getMode();
    settings.packet_queue_size = mt.getPacketQueueSize();
    settings.parked_packet_limit = settings_.parked_packet_limit;
    config_->dhcp_threads = settings.multi_threaded ? mt.getThreadPoolSize() : 0;
    const char* kea_mode = settings.multi_threaded ? "multi-threaded" : "single-threaded";
    if (started()) {
        LOG_WARN(hamux_logger, HAMUX_RESTARTING)
            .arg(multi_threaded_ ? "multi-threaded" : "single-threaded").arg(kea_mode);
    } else {
        LOG_INFO(hamux_logger, HAMUX_STARTING).arg(not_started_).arg(kea_mode);
    }
    MultiThreadingCriticalSection cs;
    stop();
    try {
        if (config_->multiple()) {
            // What Kea runs ties the subnets: libreload passes no configuration, and
            // after a refused config-set the one the hook saw is not the one Kea kept.
            config_->mapSubnets(runningConfig(settings.v6), settings.v6);
        }
        start(settings);
    } catch (const std::exception& ex) {
        not_started_ = ex.what();
        LOG_ERROR(hamux_logger, HAMUX_START_FAILED).arg(ex.what());
    }
}

void
HamuxImpl::adjustNetworkState() {
    // In hot-standby the state machine switches the service (HaService).
    if (!network_state_ || failover_) {
        return;
    }
    network_state_->reset(NetworkState::Origin::HA_COMMAND);
    if (config_->role() == "backup") {
        LOG_INFO(hamux_logger, HAMUX_LOCAL_DHCP_DISABLE)
            .arg(config_->relationships[0].this_server_name);
        network_state_->disableService(NetworkState::Origin::HA_COMMAND);
    }
}

void
HamuxImpl::dhcpServiceCommand(const std::string& command) {
    // Kea's own handler; "ha-partner" is NetworkState::Origin::HA_COMMAND in Kea 2.2.
    ElementPtr arguments = Element::createMap();
    arguments->set("origin", Element::create("ha-partner"));
    ConstElementPtr answer =
        CommandMgr::instance().processCommand(isc::config::createCommand(command, arguments));
    int result = isc::config::CONTROL_RESULT_ERROR;
    ConstElementPtr text = isc::config::parseAnswer(result, answer);
    if (result != isc::config::CONTROL_RESULT_SUCCESS) {
        isc_throw(Unexpected, command << ": " << (text ? text->str() : answer->str()));
    }
}

void
HamuxImpl::checkParkingSettings(const Settings& settings) const {
    if (!waits_) {
        return;
    }
    if (settings.multi_threaded && settings.packet_queue_size != 0) {
        LOG_WARN(hamux_logger, HAMUX_PACKET_QUEUE_BOUNDED).arg(settings.packet_queue_size);
    }
    if (settings.parked_packet_limit != 0) {
        LOG_WARN(hamux_logger, HAMUX_PARKED_PACKET_LIMIT).arg(settings.parked_packet_limit);
    }
}

template<typename QueryPtr, typename Collection>
void
HamuxImpl::committed(CalloutHandle& handle, const char* query_name,
                     const char* leases_name, const char* deleted_name) {
    if (!has_targets_ && !scoped_by_subnet_) {
        return;
    }
    QueryPtr query;
    boost::shared_ptr<Collection> leases;
    boost::shared_ptr<Collection> deleted;
    handle.getArgument(query_name, query);
    handle.getArgument(leases_name, leases);
    handle.getArgument(deleted_name, deleted);
    if (scoped_by_subnet_ && started() &&
        !committedInScope(handle, query, leases.get(), deleted.get())) {
        // Another server serves it (several relationships): not answered here.
        handle.setStatus(CalloutHandle::NEXT_STEP_DROP);
        return;
    }
    // An earlier library dropped or skipped the query: nothing to replicate or park,
    // as libdhcp_ha decides.
    if (!has_targets_ || handle.getStatus() == CalloutHandle::NEXT_STEP_DROP ||
        handle.getStatus() == CalloutHandle::NEXT_STEP_SKIP) {
        return;
    }
    if ((!leases || leases->empty()) && (!deleted || deleted->empty())) {
        return;  // e.g. a DHCPNAK
    }
    if (!started()) {
        notStarted(handle);
        return;
    }
    if (!leases) {
        leases.reset(new Collection());
    }
    if (!deleted) {
        deleted.reset(new Collection());
    }
    if (!waits_) {
        // A failure (an exception: logged by the callout, nothing sent) leaves the
        // query to be answered, as libdhcp_ha does; but a lease of no relationship
        // drops it, as libdhcp_ha drops a query of a subnet without one.
        try {
            sender_->send(query, leases, deleted, ParkingLotHandlePtr());
        } catch (const NoRelationship& ex) {
            noRelationship(handle, query->getLabel(), ex.what());
        }
        return;
    }
    size_t waiting = 0;
    try {
        waiting = sender_->send(query, leases, deleted, handle.getParkingLotHandlePtr());
    } catch (const NoRelationship& ex) {
        noRelationship(handle, query->getLabel(), ex.what());
        return;
    } catch (const std::exception& ex) {
        // Nothing was sent and the query is not parked: Kea refused to park it (Kea 2.2
        // does not park DHCPv4-over-DHCPv6 queries) or its updates could not be made.
        // Not answered without replication: dropped.
        handle.setStatus(CalloutHandle::NEXT_STEP_DROP);
        stats::bump(stats::PACKETS_DROPPED);
        LOG_WARN(hamux_logger, HAMUX_PACKET_NOT_PARKED).arg(query->getLabel()).arg(ex.what());
        return;
    }
    if (waiting > 0) {
        handle.setStatus(CalloutHandle::NEXT_STEP_PARK);
    }
}

void
HamuxImpl::noRelationship(CalloutHandle& handle, const std::string& label,
                          const std::string& why) {
    handle.setStatus(CalloutHandle::NEXT_STEP_DROP);
    stats::bump(stats::PACKETS_DROPPED);
    LOG_ERROR(hamux_logger, HAMUX_NO_RELATIONSHIP).arg(label).arg(why);
}

ConstElementPtr
HamuxImpl::runningConfig(bool v6) {
    ConstElementPtr answer =
        CommandMgr::instance().processCommand(isc::config::createCommand("config-get"));
    int result = isc::config::CONTROL_RESULT_ERROR;
    ConstElementPtr arguments = isc::config::parseAnswer(result, answer);
    ConstElementPtr server = arguments && arguments->getType() == Element::map
                             ? arguments->get(v6 ? "Dhcp6" : "Dhcp4") : ConstElementPtr();
    if (result != isc::config::CONTROL_RESULT_SUCCESS || !server) {
        isc_throw(HamuxConfigError, "several relationships tie subnets by their"
                  " 'ha-server-name', and Kea's running configuration could not be read"
                  " (config-get: " << answer->str() << ")");
    }
    return (server);
}

void
HamuxImpl::notStarted(CalloutHandle& handle) {
    // Kea refused the hook's configuration at runtime (it keeps the libraries loaded):
    // with wait-backup-ack no query is answered unless replicated, so it is dropped.
    if (!waits_) {
        return;
    }
    handle.setStatus(CalloutHandle::NEXT_STEP_DROP);
    stats::bump(stats::PACKETS_DROPPED);
    if (!not_started_logged_.exchange(true)) {
        LOG_ERROR(hamux_logger, HAMUX_NOT_STARTED_DROP).arg(not_started_);
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
    if (!started()) {
        return (isc::config::createAnswer(isc::config::CONTROL_RESULT_ERROR,
                                          "libdhcp_hamux is not started: " +
                                          not_started_));
    }
    ElementPtr arguments = Element::createMap();
    arguments->set("client", boost::const_pointer_cast<Element>(sender_->stats()));
    // The first listener's, as with one relationship; every one's under "listeners".
    const CommandListenerPtr& first = listeners_[0];
    arguments->set("listener", boost::const_pointer_cast<Element>(first->stats()));
    arguments->set("this-server-name",
                   Element::create(config_->relationships[0].this_server_name));
    arguments->set("mode", Element::create(config_->relationships[0].mode));
    arguments->set("listener-threads", boost::const_pointer_cast<Element>(first->threads()));
    ElementPtr listeners = Element::createList();
    for (auto const& listener : listeners_) {
        ElementPtr entry = Element::createMap();
        entry->set("url", Element::create(listener->url()));
        entry->set("stats", boost::const_pointer_cast<Element>(listener->stats()));
        entry->set("listener-threads",
                   boost::const_pointer_cast<Element>(listener->threads()));
        listeners->add(entry);
    }
    arguments->set("listeners", listeners);
    ElementPtr relationships = Element::createList();
    for (auto const& relationship : config_->relationships) {
        ElementPtr entry = Element::createMap();
        entry->set("this-server-name", Element::create(relationship.this_server_name));
        entry->set("mode", Element::create(relationship.mode));
        entry->set("url", Element::create(relationship.thisServer().url.text));
        ElementPtr backups = Element::createList();
        for (auto const peer : relationship.updateTargets()) {
            backups->add(Element::create(peer->name));
        }
        entry->set("backups", backups);
        relationships->add(entry);
    }
    arguments->set("relationships", relationships);
    ElementPtr ha = Element::createList();
    for (auto const& service : services_) {
        if (service) {
            ha->add(boost::const_pointer_cast<Element>(service->status()));
        }
    }
    arguments->set("high-availability", ha);
    if (scoped_by_subnet_) {
        // hub and spoke: how queries were tied to relationships (hamux_impl_scope.cc).
        ElementPtr scope = Element::createMap();
        scope->set("decided-at-subnet-select",
                   Element::create(static_cast<int64_t>(decided_at_subnet_.load())));
        scope->set("decided-at-lease",
                   Element::create(static_cast<int64_t>(decided_at_lease_.load())));
        scope->set("not-for-us", Element::create(static_cast<int64_t>(not_for_us_.load())));
        scope->set("undecided-dropped",
                   Element::create(static_cast<int64_t>(undecided_dropped_.load())));
        arguments->set("scope-by-subnet", scope);
    }
    return (isc::config::createAnswer(isc::config::CONTROL_RESULT_SUCCESS,
                                      "hamux status returned.", arguments));
}

} // namespace hamux
} // namespace isc
