// Copyright (C) 2026 The hamux authors. MPL-2.0.

#include <main_thread_queue.h>
#include <hamux_log.h>

#include <dhcp/iface_mgr.h>
#include <exceptions/exceptions.h>

#include <cerrno>
#include <cstring>
#include <sys/eventfd.h>
#include <unistd.h>

namespace isc {
namespace hamux {

MainThreadQueue::MainThreadQueue()
    : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)), started_(false), stopped_(false) {
    if (fd_ < 0) {
        isc_throw(Unexpected, "eventfd: " << strerror(errno));
    }
}

MainThreadQueue::~MainThreadQueue() {
    if (started_) {
        stop();
    }
    close(fd_);
}

void
MainThreadQueue::start() {
    if (started_) {
        return;
    }
    isc::dhcp::IfaceMgr::instance().addExternalSocket(fd_, [this](int) { serve(); });
    started_ = true;
}

std::deque<std::function<void()> >
MainThreadQueue::stop() {
    if (started_) {
        isc::dhcp::IfaceMgr::instance().deleteExternalSocket(fd_);
        started_ = false;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    std::deque<std::function<void()> > left;
    left.swap(tasks_);
    return (left);
}

bool
MainThreadQueue::push(std::function<void()> task) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopped_) {
            return (false);
        }
        tasks_.push_back(std::move(task));
    }
    uint64_t one = 1;
    // The counter cannot overflow in practice; EAGAIN would mean it is readable anyway.
    ssize_t n = write(fd_, &one, sizeof(one));
    (void)n;
    return (true);
}

void
MainThreadQueue::serve() {
    uint64_t count;
    ssize_t n = read(fd_, &count, sizeof(count));
    (void)n;
    for (;;) {
        std::function<void()> task;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (tasks_.empty()) {
                return;
            }
            task = std::move(tasks_.front());
            tasks_.pop_front();
        }
        try {
            task();
        } catch (const std::exception& ex) {
            LOG_ERROR(hamux_logger, HAMUX_CALLOUT_FAILED).arg("main-thread task")
                .arg(ex.what());
        } catch (...) {
            LOG_ERROR(hamux_logger, HAMUX_CALLOUT_FAILED).arg("main-thread task")
                .arg("unknown exception");
        }
    }
}

} // namespace hamux
} // namespace isc
