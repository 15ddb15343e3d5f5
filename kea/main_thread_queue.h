// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_MAIN_THREAD_QUEUE_H
#define HAMUX_MAIN_THREAD_QUEUE_H

#include <boost/noncopyable.hpp>
#include <deque>
#include <functional>
#include <mutex>

namespace isc {
namespace hamux {

/// @brief Runs tasks on Kea's main thread: an eventfd registered with Kea's IfaceMgr as
/// an external socket, which the main thread's receive loop serves (in multi-threaded
/// Kea too). It is how work from hamux threads reaches the one thread that may enter
/// Kea's multi-threading critical section and run Kea's commands, and how the hook
/// learns that Kea has finished configuring (the first task runs only once Kea's main
/// loop does, after multi-threading is applied).
///
/// Unlike posting to Kea's IOService, nothing queued here can run after @c stop: the
/// hook's code is never called once the library is unloaded.
class MainThreadQueue : public boost::noncopyable {
public:
    MainThreadQueue();
    ~MainThreadQueue();

    /// @brief Registers the eventfd with IfaceMgr (main thread, once configured).
    void start();

    /// @brief Unregisters it; returns the tasks that never ran (main thread).
    std::deque<std::function<void()> > stop();

    /// @brief Queues a task (any thread). Returns false once stopped.
    bool push(std::function<void()> task);

private:
    /// @brief IfaceMgr's callback: runs what is queued.
    void serve();

    int fd_;
    bool started_;
    std::mutex mutex_;
    bool stopped_;
    std::deque<std::function<void()> > tasks_;
};

} // namespace hamux
} // namespace isc

#endif // HAMUX_MAIN_THREAD_QUEUE_H
