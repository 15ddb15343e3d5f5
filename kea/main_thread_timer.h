// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_MAIN_THREAD_TIMER_H
#define HAMUX_MAIN_THREAD_TIMER_H

#include <boost/noncopyable.hpp>
#include <cstdint>
#include <functional>

namespace isc {
namespace hamux {

/// @brief A one-shot timer whose task runs on Kea's main thread: a timerfd registered
/// with Kea's IfaceMgr as an external socket, as MainThreadQueue's eventfd is. The HA
/// state machine's heartbeats run on it, beside Kea's own main-thread work, as
/// libdhcp_ha's IntervalTimer runs on Kea's IOService; unlike that, nothing scheduled
/// here runs once the timer is destroyed.
///
/// Main thread only (create, schedule, cancel, destroy).
class MainThreadTimer : public boost::noncopyable {
public:
    /// @throw isc::Unexpected if no timerfd can be made.
    MainThreadTimer();

    /// @brief Cancels it and unregisters the timerfd.
    ~MainThreadTimer();

    /// @brief Runs @c task once, @c delay_ms from now, replacing what was scheduled.
    void schedule(uint32_t delay_ms, std::function<void()> task);

    /// @brief Nothing runs (what was scheduled is forgotten).
    void cancel();

    /// @brief Whether a task is scheduled and has not run yet.
    bool scheduled() const { return (static_cast<bool>(task_)); }

private:
    /// @brief IfaceMgr's callback: the timer expired.
    void fire();

    int fd_;
    bool registered_;
    std::function<void()> task_;
};

} // namespace hamux
} // namespace isc

#endif // HAMUX_MAIN_THREAD_TIMER_H
