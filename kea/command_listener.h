// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_COMMAND_LISTENER_H
#define HAMUX_COMMAND_LISTENER_H

#include <hamux.h>
#include <hamux_config.h>
#include <main_thread_queue.h>

#include <cc/data.h>

#include <boost/noncopyable.hpp>
#include <boost/shared_ptr.hpp>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

namespace isc {
namespace hamux {

/// @brief The receiving side: a hamux listener on this server's own peer URL, serving
/// hamux:// and Kea's HTTP on the one port, so both hamux and libdhcp_ha partners can
/// replicate into it.
///
/// Lease commands are applied on hamux's handler threads, in parallel, by lease_cmds'
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
    /// @param poll hand requests over on Kea's thread (single-threaded Kea).
    /// @param main Kea's main thread, for the commands that must run there.
    /// @throw HamuxConfigError with hamux's message if the listener is refused.
    CommandListener(const HookConfig& config, bool poll, MainThreadQueue& main);

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

    /// @brief hamux's request callback.
    void onRequest(hamux_request* request, const uint8_t* body, size_t len);

private:
    /// @brief Waits (bounded) for the gate, then counts this thread in.
    /// @return false if the gate stayed closed or was given up.
    bool enterGate();

    /// @brief Counts this thread out.
    void leaveGate();

    /// @brief libdhcp_ha's heartbeat answer: state, date-time, scopes, unsent count.
    data::ConstElementPtr heartbeat() const;

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
    std::string state_;
    std::string scope_;
    std::mutex gate_mutex_;
    std::condition_variable gate_cv_;
    bool open_ = false;
    bool closed_ = false;
    size_t applying_ = 0;
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
