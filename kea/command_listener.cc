// Copyright (C) 2026 The hamux authors. MPL-2.0.

#include <command_listener.h>
#include <hamux_json.h>
#include <hamux_log.h>
#include <hamux_stats.h>
#include <http_date.h>
#include <json_parser.h>
#include <json_writer.h>

#include <cc/command_interpreter.h>
#include <config/command_mgr.h>
#include <util/multi_threading_mgr.h>

#include <algorithm>
#include <chrono>
#include <set>

using namespace isc::config;
using namespace isc::data;

namespace isc {
namespace hamux {

namespace {

/// @brief The lease commands partners replicate with: applied in parallel on hamux's
/// handler threads through lease_cmds' handlers, as Kea's own HA listener threads do.
const std::set<std::string> LEASE_COMMANDS = {
    "lease4-update", "lease4-del", "lease4-add", "lease6-update", "lease6-del",
    "lease6-add", "lease6-bulk-apply",
};

/// @brief What a listener with restrict-commands accepts: libdhcp_ha 2.2's
/// CommandCreator::ha_commands4_ and ha_commands6_ together (a server answers only its
/// own family's lease commands anyway).
const std::set<std::string> HA_COMMANDS = {
    "list-commands", "status-get", "dhcp-disable", "dhcp-enable", "ha-reset",
    "ha-heartbeat", "lease4-update", "lease4-del", "lease4-get-all", "lease4-get-page",
    "lease6-bulk-apply", "lease6-update", "lease6-del", "lease6-get-all",
    "lease6-get-page", "ha-maintenance-notify", "ha-sync-complete-notify",
};

/// @brief The HA commands that act on one relationship (libdhcp_ha 2.5.5+ picks it by
/// their "server-name"): named by the listener they arrive on when a partner does not.
const std::set<std::string> RELATIONSHIP_COMMANDS = {
    "ha-reset", "ha-maintenance-notify", "ha-sync-complete-notify", "ha-scopes",
    "ha-continue",
};

/// @brief Commands that unload the hook libraries (see onRequest).
const std::set<std::string> UNLOADING_COMMANDS = {
    "config-set", "config-reload", "libreload",
};

/// @brief How long a lease command that arrives while Kea is still configuring (or is
/// in a critical section) waits before it is refused (the partner counts it as failed
/// and may resend).
const auto READY_WAIT = std::chrono::seconds(10);

/// @brief Set on a handler thread while it is inside the gate (applying a lease command).
thread_local bool inside_gate = false;

/// @brief Logs a failure; never throws.
void
logFailure(const char* what, const char* why) noexcept {
    try {
        LOG_ERROR(hamux_logger, HAMUX_CALLOUT_FAILED).arg(what).arg(why);
    } catch (...) {
    }
}

extern "C" void
requestArrived(void* user_data, hamux_request* request, const uint8_t* body, size_t len) {
    CommandListener* listener = static_cast<CommandListener*>(user_data);
    // onRequest answers or hands the request over, or throws before either: then it is
    // answered here, first (logging may throw too).
    try {
        listener->onRequest(request, body, len);
    } catch (const std::exception& ex) {
        hamux_request_respond_error(request, HAMUX_E_INTERNAL, ex.what());
        logFailure("partner request", ex.what());
    } catch (...) {
        hamux_request_respond_error(request, HAMUX_E_INTERNAL, "unknown exception");
        logFailure("partner request", "unknown exception");
    }
}

/// @brief Runs @c command through Kea's CommandMgr. A handler's exception becomes an
/// error answer, and so does no answer at all ("no answer from @c who"; the text is made
/// only then, as this runs for every lease a partner sends).
ConstElementPtr
processOrError(const ConstElementPtr& command, const char* who) {
    ConstElementPtr answer;
    try {
        answer = CommandMgr::instance().processCommand(command);
    } catch (const std::exception& ex) {
        answer = createAnswer(CONTROL_RESULT_ERROR, ex.what());
    }
    return (answer ? answer
            : createAnswer(CONTROL_RESULT_ERROR, std::string("no answer from ") + who));
}

} // namespace

CommandListener::CommandListener(const HookConfig& config, const std::vector<size_t>& group,
                                 bool poll, MainThreadQueue& main,
                                 const std::vector<HaServicePtr>& services)
    : listener_(0), main_(main), poll_(poll),
      restrict_(config.relationships[group[0]].restrict_commands),
      url_(config.relationships[group[0]].thisServer().url.text) {
    size_t index = group[0];
    const PeerConfig& self = config.relationships[index].thisServer();
    for (size_t member : group) {
        const RelationshipConfig& relationship = config.relationships[member];
        const PeerConfig& me = relationship.thisServer();
        // passive-backup: the primary serves its own scope, backups none (libdhcp_ha).
        bool primary = me.role == "primary";
        HaService* service = member < services.size() ? services[member].get() : nullptr;
        heartbeats_.push_back(HeartbeatState{&relationship,
                                             primary ? "passive-backup" : "backup",
                                             primary ? me.name : "", service});
    }
    // Several hot-standby relationships: each has its own listener (hamux_config.cc),
    // and a Kea 2.2 partner names no relationship in its commands, so this one does.
    if (config.relationships.size() > 1 && group.size() == 1 && heartbeats_[0].service) {
        relationship_name_ = self.name;
    }
    threads_ = config.listenerThreads(index, poll);
    ConstElementPtr handlers = threads_->get("handler-threads");
    inline_ = !poll && handlers && handlers->getType() == Element::integer &&
              handlers->intValue() == 0;
    if (inline_) {
        waiter_ = std::thread([this]() { serveDeferred(); });
    }
    std::string json = config.listenerJson(index, poll);
    if (hamux_listener_new(json.c_str(), requestArrived, this, &listener_) != HAMUX_OK) {
        stopWaiter();
        isc_throw(HamuxConfigError, "listener on '" << self.url.text << "': "
                  << hamux_last_error());
    }
}

void
CommandListener::stopWaiter() noexcept {
    if (!waiter_.joinable()) {
        return;
    }
    {
        std::lock_guard<std::mutex> lock(gate_mutex_);
        closed_ = true;
        waiter_stop_ = true;
        gate_cv_.notify_all();
    }
    // It refuses what is left at once (the gate is given up) and returns.
    waiter_.join();
}

CommandListener::~CommandListener() {
    // Nothing queued for the main thread runs on this object any more (both on the main
    // thread), and every command waiting there is answered before the drain.
    close();
    refuseSerial();
    // Every deferred lease command is answered before the listener is freed; one
    // arriving from now on is refused where it is read (the gate is given up).
    stopWaiter();
    alive_.reset();
    hamux_listener_free(listener_);
}

void
CommandListener::resume() {
    std::lock_guard<std::mutex> lock(gate_mutex_);
    open_ = true;
    gate_cv_.notify_all();
}

void
CommandListener::pause() {
    std::unique_lock<std::mutex> lock(gate_mutex_);
    open_ = false;
    // Unbounded, as Kea's thread pool stop joins its packet threads: the critical
    // section must not start while a handler is inside lease_cmds (the lease manager
    // may be recreated under it). A lease command holds no lock Kea's main thread holds
    // here, so it ends.
    gate_cv_.wait(lock, [this] { return (applying_ == 0); });
}

void
CommandListener::checkPermissions() {
    if (inside_gate) {
        // The critical section would wait for this very thread (pause): refused, as
        // Kea's HA refuses one from its own listener's threads.
        isc_throw(MultiThreadingInvalidOperation, "a critical section cannot be entered"
                  " while applying a partner's lease command");
    }
}

void
CommandListener::close() {
    {
        std::lock_guard<std::mutex> lock(gate_mutex_);
        closed_ = true;
        gate_cv_.notify_all();
    }
    std::lock_guard<std::mutex> lock(serial_mutex_);
    serial_closed_ = true;
}

bool
CommandListener::enterGate(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(gate_mutex_);
    if (!gate_cv_.wait_until(lock, deadline, [this] { return (open_ || closed_); }) ||
        closed_) {
        return (false);
    }
    ++applying_;
    inside_gate = true;
    return (true);
}

bool
CommandListener::tryEnterGate() {
    std::lock_guard<std::mutex> lock(gate_mutex_);
    if (!open_ || closed_) {
        return (false);
    }
    ++applying_;
    inside_gate = true;
    return (true);
}

bool
CommandListener::applyInGate(hamux_request* request, const ConstElementPtr& command,
                             bool wait, std::chrono::steady_clock::time_point deadline) {
    if (!(wait ? enterGate(deadline) : tryEnterGate())) {
        return (false);
    }
    ConstElementPtr answer;
    try {
        answer = applyLease(command);
    } catch (...) {
        leaveGate();
        throw;
    }
    leaveGate();
    respond(request, answer);
    return (true);
}

bool
CommandListener::defer(hamux_request* request, const ConstElementPtr& command) {
    std::lock_guard<std::mutex> lock(gate_mutex_);
    if (closed_ || waiter_stop_) {
        return (false);
    }
    deferred_.push_back(Deferred{request, command,
                                 std::chrono::steady_clock::now() + READY_WAIT});
    gate_cv_.notify_all();
    return (true);
}

void
CommandListener::serveDeferred() noexcept {
    for (;;) {
        Deferred next;
        {
            std::unique_lock<std::mutex> lock(gate_mutex_);
            gate_cv_.wait(lock, [this] { return (waiter_stop_ || !deferred_.empty()); });
            if (deferred_.empty()) {
                return;
            }
            next = std::move(deferred_.front());
            deferred_.pop_front();
        }
        // Exactly one answer each, as requestArrived gives one.
        try {
            if (!applyInGate(next.request, next.command, true, next.deadline)) {
                stats::bump(stats::UPDATES_REFUSED);
                respond(next.request, createAnswer(CONTROL_RESULT_ERROR, "the server is"
                                                   " being configured or shut down"));
            }
        } catch (const std::exception& ex) {
            hamux_request_respond_error(next.request, HAMUX_E_INTERNAL, ex.what());
            logFailure("partner request", ex.what());
        } catch (...) {
            hamux_request_respond_error(next.request, HAMUX_E_INTERNAL,
                                        "unknown exception");
            logFailure("partner request", "unknown exception");
        }
    }
}

void
CommandListener::leaveGate() {
    std::lock_guard<std::mutex> lock(gate_mutex_);
    inside_gate = false;
    if (--applying_ == 0) {
        gate_cv_.notify_all();
    }
}

int
CommandListener::fd() const {
    return (hamux_listener_fd(listener_));
}

void
CommandListener::dispatch() {
    while (hamux_listener_dispatch(listener_, 256) == 256) {
    }
}

uint16_t
CommandListener::port() const {
    return (hamux_listener_port(listener_));
}

ConstElementPtr
CommandListener::stats() const {
    return (takeHamuxJson(hamux_listener_stats(listener_)));
}

void
CommandListener::respond(hamux_request* request, const ConstElementPtr& answer) {
    ElementPtr list = Element::createList();
    list->add(boost::const_pointer_cast<Element>(answer));
    std::string text = toJson(list);
    hamux_request_respond(request, reinterpret_cast<const uint8_t*>(text.data()),
                          text.size());
}

ConstElementPtr
CommandListener::partnerServiceCommand(const ConstElementPtr& command,
                                       const std::string& name) const {
    // Several hot-standby relationships: a partner's switch of the DHCP service around
    // its lease sync is that relationship's (service_gate.h), not the whole server's
    // through Kea's one HA origin. Anything else, or anything Kea would refuse, goes to
    // Kea's own handler.
    if (relationship_name_.empty() || (name != "dhcp-disable" && name != "dhcp-enable")) {
        return (ConstElementPtr());
    }
    ConstElementPtr arguments = command->get("arguments");
    if (!arguments || arguments->getType() != Element::map) {
        return (ConstElementPtr());
    }
    ConstElementPtr origin = arguments->get("origin");
    if (!origin || origin->getType() != Element::string ||
        origin->stringValue() != "ha-partner") {
        return (ConstElementPtr());
    }
    int64_t max_period = 0;
    ConstElementPtr period = arguments->get("max-period");
    if (name == "dhcp-disable" && period) {
        // Kea's handler's refusals; a longer period than the timer takes is as long as
        // it takes (49 days).
        if (period->getType() != Element::integer) {
            return (createAnswer(CONTROL_RESULT_ERROR, "'max-period' argument must be a"
                                 " number"));
        }
        if (period->intValue() <= 0) {
            return (createAnswer(CONTROL_RESULT_ERROR, "'max-period' must be positive"
                                 " integer"));
        }
        max_period = std::min<int64_t>(period->intValue(), 4294967);
    }
    return (heartbeats_[0].service->partnerServiceCommand(name == "dhcp-enable",
                                                          max_period));
}

ConstElementPtr
CommandListener::namingRelationship(const ConstElementPtr& command,
                                    const ConstElementPtr& arguments) const {
    if (arguments && (arguments->getType() != Element::map || arguments->get("server-name"))) {
        return (command);  // named already (libdhcp_ha 2.5.5+), or refused as it is
    }
    ElementPtr named = Element::createMap();
    for (auto const& entry : command->mapValue()) {
        named->set(entry.first, entry.second);
    }
    ElementPtr args = Element::createMap();
    if (arguments) {
        for (auto const& entry : arguments->mapValue()) {
            args->set(entry.first, entry.second);
        }
    }
    args->set("server-name", Element::create(relationship_name_));
    named->set("arguments", args);
    return (named);
}

ConstElementPtr
CommandListener::heartbeat(const ConstElementPtr& args) const {
    const HeartbeatState* found = &heartbeats_[0];
    if (args) {
        if (args->getType() != Element::map) {
            return (createAnswer(CONTROL_RESULT_ERROR, "arguments in the 'ha-heartbeat'"
                                 " command are not a map"));
        }
        ConstElementPtr server_name = args->get("server-name");
        if (server_name) {
            if (server_name->getType() != Element::string) {
                return (createAnswer(CONTROL_RESULT_ERROR, "'server-name' must be a"
                                     " string in the 'ha-heartbeat' command"));
            }
            found = 0;
            for (auto const& candidate : heartbeats_) {
                if (candidate.relationship->hasServer(server_name->stringValue())) {
                    found = &candidate;
                    break;
                }
            }
            if (!found) {
                return (createAnswer(CONTROL_RESULT_ERROR, server_name->stringValue() +
                                     " matches no configured 'server-name'"));
            }
        }
    }
    if (found->service) {
        return (found->service->heartbeatAnswer());
    }
    ElementPtr arguments = Element::createMap();
    arguments->set("state", Element::create(found->state));
    arguments->set("date-time", Element::create(httpDate()));
    ElementPtr scopes = Element::createList();
    if (!found->scope.empty()) {
        scopes->add(Element::create(found->scope));
    }
    arguments->set("scopes", scopes);
    arguments->set("unsent-update-count", Element::create(static_cast<int64_t>(0)));
    return (createAnswer(CONTROL_RESULT_SUCCESS, "HA peer status returned.", arguments));
}

void
CommandListener::onRequest(hamux_request* request, const uint8_t* body, size_t len) {
    ConstElementPtr command;
    std::string name;
    ConstElementPtr arguments;
    try {
        command = parseJson(reinterpret_cast<const char*>(body), len);
        name = parseCommand(arguments, command);
    } catch (const std::exception& ex) {
        LOG_DEBUG(hamux_logger, DBGLVL_HAMUX_PACKET, HAMUX_REQUEST_INVALID).arg(ex.what());
        respond(request, createAnswer(CONTROL_RESULT_ERROR, ex.what()));
        return;
    }

    if (restrict_ && HA_COMMANDS.count(name) == 0) {
        // libdhcp_ha's listener: HTTP 403 with this body.
        LOG_DEBUG(hamux_logger, DBGLVL_HAMUX_PACKET, HAMUX_REQUEST_INVALID)
            .arg("'" + name + "' is not an HA command (restrict-commands)");
        stats::bump(stats::COMMANDS_RECEIVED);
        respond(request, createAnswer(403, "Forbidden"));
        return;
    }

    if (LEASE_COMMANDS.count(name) > 0) {
        stats::bump(stats::UPDATES_RECEIVED);
        if (poll_) {
            respond(request, applyLease(command));  // Kea's main thread
            return;
        }
        // Inline (on an IO thread), a closed gate is waited for on the waiter's
        // thread instead.
        typedef std::chrono::steady_clock Clock;
        bool answered = inline_
            ? (applyInGate(request, command, false, Clock::time_point()) ||
               defer(request, command))
            : applyInGate(request, command, true, Clock::now() + READY_WAIT);
        if (answered) {
            return;
        }
        stats::bump(stats::UPDATES_REFUSED);
        respond(request, createAnswer(CONTROL_RESULT_ERROR, "the server is being"
                                      " configured or shut down"));
        return;
    }

    stats::bump(stats::COMMANDS_RECEIVED);
    if (name == "ha-heartbeat") {
        respond(request, heartbeat(arguments));
        return;
    }

    // These unload and reload the hook inside the call that would run them, under the
    // very code serving the request: refused on the HA port (Kea's command channel
    // still takes them), as libdhcp_ha's listener cannot run them either.
    if (UNLOADING_COMMANDS.count(name) > 0) {
        respond(request, createAnswer(CONTROL_RESULT_ERROR, "'" + name + "' is not"
                                      " accepted on the HA port: it reloads the hook"
                                      " serving it; use Kea's control channel"));
        return;
    }

    if (!relationship_name_.empty() && RELATIONSHIP_COMMANDS.count(name) > 0) {
        command = namingRelationship(command, arguments);
    }

    // Anything else runs where Kea runs its own commands, one at a time, with the
    // packet threads stopped.
    if (poll_) {
        runSerial(request, command, name);  // already on Kea's main thread
        return;
    }
    bool queued = false;
    {
        std::lock_guard<std::mutex> lock(serial_mutex_);
        if (!serial_closed_) {
            serial_.push_back(SerialCommand{request, command, name});
            queued = true;
        }
    }
    if (!queued) {
        respond(request, createAnswer(CONTROL_RESULT_ERROR, "'" + name + "' not run: the"
                                      " server is being reconfigured or shut down"));
        return;
    }
    // Queued: from here the queue answers it (serveSerial or refuseSerial), never the
    // caller, so nothing may throw out of here.
    bool pushed = false;
    try {
        std::weak_ptr<char> alive = alive_;
        pushed = main_.push([this, alive]() {
            if (!alive.expired()) {
                serveSerial();
            }
        });
    } catch (const std::exception& ex) {
        logFailure("queueing a partner's command", ex.what());
    }
    if (!pushed) {
        refuseSerial();
    }
}

ConstElementPtr
CommandListener::applyLease(const ConstElementPtr& command) {
    // lease_cmds' handler: its parser, its race avoidance (ResourceHandler against the
    // DHCP workers), its statistics and its answers.
    ConstElementPtr answer = processOrError(command, "lease_cmds");
    int result = CONTROL_RESULT_ERROR;
    try {
        parseAnswer(result, answer);
    } catch (const std::exception&) {
        result = CONTROL_RESULT_ERROR;
    }
    // "Empty" (e.g. deleting a lease this server lacks) leaves the partners in step, as
    // libdhcp_ha counts it.
    stats::bump(result == CONTROL_RESULT_SUCCESS || result == CONTROL_RESULT_EMPTY
                ? stats::UPDATES_APPLIED : stats::UPDATES_REFUSED);
    return (answer);
}

void
CommandListener::serveSerial() {
    for (;;) {
        SerialCommand next;
        {
            std::lock_guard<std::mutex> lock(serial_mutex_);
            if (serial_.empty()) {
                return;
            }
            next = std::move(serial_.front());
            serial_.pop_front();
        }
        runSerial(next.request, next.command, next.name);
    }
}

void
CommandListener::runSerial(hamux_request* request, const ConstElementPtr& command,
                           const std::string& name) noexcept {
    // Exactly one answer: the text is made first, then sent once; if making it fails,
    // hamux's error answer is sent instead.
    std::string text;
    std::string failure;
    try {
        LOG_DEBUG(hamux_logger, DBGLVL_HAMUX_PACKET, HAMUX_SERIAL_COMMAND).arg(name);
        // As on Kea's own control channel, which runs every command on the main thread
        // with no critical section: the handlers that need one (config-set, lease4-wipe,
        // ...) take it themselves. One per command would stop Kea's packet threads for
        // each partner's status-get and wait for the lease commands being applied.
        ConstElementPtr answer = partnerServiceCommand(command, name);
        if (!answer) {
            answer = processOrError(command, name.c_str());
        }
        if (answer->getType() == Element::list) {
            text = answer->str();
        } else {
            ElementPtr list = Element::createList();
            list->add(boost::const_pointer_cast<Element>(answer));
            text = list->str();
        }
    } catch (const std::exception& ex) {
        text.clear();
        failure = ex.what();
    } catch (...) {
        text.clear();
    }
    if (!text.empty()) {
        hamux_request_respond(request, reinterpret_cast<const uint8_t*>(text.data()),
                              text.size());
    } else {
        hamux_request_respond_error(request, HAMUX_E_INTERNAL,
                                    failure.empty() ? "no answer" : failure.c_str());
    }
}

void
CommandListener::refuseSerial() noexcept {
    std::deque<SerialCommand> left;
    {
        std::lock_guard<std::mutex> lock(serial_mutex_);
        left.swap(serial_);
    }
    for (auto const& entry : left) {
        try {
            respond(entry.request,
                    createAnswer(CONTROL_RESULT_ERROR, "'" + entry.name + "' not run: the"
                                 " server is being reconfigured or shut down"));
        } catch (...) {
            // respond() throws only before it answers.
            hamux_request_respond_error(entry.request, HAMUX_E_SHUTDOWN,
                                        "not run: the server is being reconfigured or"
                                        " shut down");
        }
    }
}

} // namespace hamux
} // namespace isc
