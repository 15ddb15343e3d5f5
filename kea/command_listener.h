// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_COMMAND_LISTENER_H
#define HAMUX_COMMAND_LISTENER_H

#include <ha_service.h>
#include <hamux.h>
#include <hamux_config.h>
#include <main_thread_queue.h>

#include <cc/data.h>

#include <boost/noncopyable.hpp>
#include <boost/shared_ptr.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace isc {
namespace hamux {

/// @brief The receiving side: a hamux listener on this server's own peer URL, serving
/// hamux:// and Kea's HTTP on the one port, so both hamux and libdhcp_ha partners can
/// replicate into it.
///
/// Lease commands are applied on hamux's handler threads (or, with memfile, on the IO
/// thread that read them: see HookConfig::listenerThreads), in parallel, by lease_cmds'
/// own handlers (Kea's command manager, as Kea's HA listener threads do): Debian's
/// kea-dev 2.2 lacks dhcpsrv/cfg_globals.h, without which no lease manager header
/// compiles, and lease_cmds gives exactly its own answers and race avoidance. ha-heartbeat is answered as libdhcp_ha answers it; any
/// other command (hamux's serial lane delivers them one at a time) runs on Kea's main
/// thread as on Kea's own control channel (no critical section: the handlers that need
/// one take it), through Kea's command manager, which answers "not supported" for
/// commands nobody registered.
class CommandListener : public boost::noncopyable {
public:
    /// @brief Binds and starts serving; lease commands wait until @c resume.
    /// @param group the relationships that give this server one URL
    /// (HookConfig::listenerGroups); the first one's settings make the listener.
    /// @param poll hand requests over on Kea's thread (single-threaded Kea).
    /// @param main Kea's main thread, for the commands that must run there.
    /// @throw HamuxConfigError with hamux's message if the listener is refused.
    /// @param services per relationship, its state machine (hot-standby) or null, which
    /// answers the heartbeats for it; they outlive this listener.
    CommandListener(const HookConfig& config, const std::vector<size_t>& group, bool poll,
                    MainThreadQueue& main, const std::vector<HaServicePtr>& services);

    /// @brief Drains: every request handed over is answered, then the port is closed.
    ~CommandListener();

    /// @brief Opens the gate: Kea is configured and its multi-threading applied (or a
    /// critical section ended), lease commands may touch the lease manager.
    void resume();

    /// @brief Closes the gate and waits (unbounded) for the lease commands being
    /// applied: Kea enters a critical section (reconfiguration, lease database changes),
    /// in which hamux's handler threads stay out of Kea like its own packet threads.
    void pause();

    /// @brief The critical-section check callback: a critical section entered from a
    /// lease command being applied would wait for itself in @c pause.
    /// @throw MultiThreadingInvalidOperation on such a thread.
    static void checkPermissions();

    /// @brief Gives up the gate for good (unload): lease commands waiting at it and
    /// those arriving while the listener drains are refused at once.
    void close();

    /// @brief Answers with an error the commands still waiting for the main thread,
    /// which will not run them any more (unload; call after MainThreadQueue::stop).
    void refuseSerial() noexcept;

    int fd() const;
    void dispatch();
    uint16_t port() const;
    data::ConstElementPtr stats() const;

    /// @brief Lease commands are applied on the IO thread that read them.
    bool appliesInline() const { return (inline_); }

    /// @brief The URL it listens on (this server's in its relationships).
    const std::string& url() const { return (url_); }

    /// @brief Its "io-threads" and "handler-threads" (HookConfig::listenerThreads).
    data::ConstElementPtr threads() const { return (threads_); }

    /// @brief hamux's request callback.
    void onRequest(hamux_request* request, const uint8_t* body, size_t len);

    /// @brief libdhcp_ha's heartbeat answer (state, date-time, scopes, unsent count)
    /// for the relationship that has a server named by the arguments' "server-name"
    /// (libdhcp_ha 2.5.5+ sends its own name), the first one without it, as
    /// HAImpl::getHAServiceByServerName picks it; an error answer naming a bad or
    /// unknown name. Any thread.
    data::ConstElementPtr heartbeat(const data::ConstElementPtr& arguments) const;

private:
    /// @brief With several hot-standby relationships, a partner's dhcp-disable or
    /// dhcp-enable with the origin "ha-partner", answered by this listener's
    /// relationship's state machine (HaService::partnerServiceCommand); null for any
    /// other command, which Kea's handlers run. Main thread.
    data::ConstElementPtr partnerServiceCommand(const data::ConstElementPtr& command,
                                                const std::string& name) const;

    /// @brief @c command with "server-name" set to @c relationship_name_ unless its
    /// arguments name one already (or are not a map, which the handler refuses).
    data::ConstElementPtr namingRelationship(const data::ConstElementPtr& command,
                                             const data::ConstElementPtr& arguments) const;

    /// @brief Waits until @c deadline for the gate, then counts this thread in.
    /// @return false if the gate stayed closed or was given up.
    bool enterGate(std::chrono::steady_clock::time_point deadline);

    /// @brief Counts this thread in if the gate is open, without waiting.
    bool tryEnterGate();

    /// @brief Applies a lease command inside the gate and answers it; false (nothing
    /// answered) if the gate could not be entered, waiting for it until @c deadline
    /// if @c wait, else not at all.
    bool applyInGate(hamux_request* request, const data::ConstElementPtr& command,
                     bool wait, std::chrono::steady_clock::time_point deadline);

    /// @brief A lease command read inline while the gate was closed.
    struct Deferred {
        hamux_request* request;
        data::ConstElementPtr command;
        std::chrono::steady_clock::time_point deadline;
    };

    /// @brief Hands a lease command that found the gate closed to @c waiter_, so that
    /// the IO thread which read it goes on serving its connections (their pings
    /// among them: a partner whose pings go unanswered for seconds drops the
    /// connection and fails every update on it).
    /// @return false (nothing taken) once the gate is given up.
    bool defer(hamux_request* request, const data::ConstElementPtr& command);

    /// @brief Gives up the gate and joins @c waiter_ (if started), which answers what
    /// it holds first.
    void stopWaiter() noexcept;

    /// @brief @c waiter_'s loop: each deferred command waits for the gate until its
    /// own deadline (counted from its arrival), then is applied or refused.
    void serveDeferred() noexcept;

    /// @brief Counts this thread out.
    void leaveGate();

    /// @brief Applies a lease command through lease_cmds and counts the outcome.
    data::ConstElementPtr applyLease(const data::ConstElementPtr& command);

    /// @brief A command waiting for Kea's main thread.
    struct SerialCommand {
        hamux_request* request;
        data::ConstElementPtr command;
        std::string name;
    };

    /// @brief Runs the waiting commands (main thread).
    void serveSerial();

    /// @brief Runs one command through Kea's command manager (main thread).
    void runSerial(hamux_request* request, const data::ConstElementPtr& command,
                   const std::string& name) noexcept;

    /// @brief Sends Kea's answer as the list Kea's HTTP listener sends.
    static void respond(hamux_request* request, const data::ConstElementPtr& answer);

    hamux_listener* listener_;
    MainThreadQueue& main_;
    bool poll_;
    bool restrict_;
    std::string url_;
    data::ConstElementPtr threads_;
    /// @brief What a heartbeat reports for one relationship served here.
    struct HeartbeatState {
        const RelationshipConfig* relationship;  ///< into the HookConfig (outlives this)
        std::string state;
        std::string scope;  ///< "" for none
        /// @brief hot-standby: the state machine, which answers instead.
        HaService* service;
    };
    /// @brief One per relationship of the group, in its order.
    std::vector<HeartbeatState> heartbeats_;
    /// @brief With several hot-standby relationships, this server's name in the one
    /// this listener serves (what a partner's commands are tied to); else empty.
    std::string relationship_name_;
    std::mutex gate_mutex_;
    std::condition_variable gate_cv_;
    bool open_ = false;
    bool closed_ = false;
    size_t applying_ = 0;
    /// @brief Lease commands are applied on the IO thread that read them
    /// (handler-threads 0).
    bool inline_ = false;
    /// @brief Inline only: where lease commands that found the gate closed wait
    /// (guarded by gate_mutex_), and the thread that waits for it on their behalf.
    std::deque<Deferred> deferred_;
    bool waiter_stop_ = false;
    std::thread waiter_;
    std::mutex serial_mutex_;
    std::deque<SerialCommand> serial_;
    /// @brief Set by @c close: commands for the main thread are refused at once.
    bool serial_closed_ = false;
    /// @brief Expires with this object: a task queued on the main thread for it checks
    /// it first (the main thread also destroys it).
    std::shared_ptr<char> alive_ = std::make_shared<char>(0);
};

typedef boost::shared_ptr<CommandListener> CommandListenerPtr;

} // namespace hamux
} // namespace isc

#endif // HAMUX_COMMAND_LISTENER_H
