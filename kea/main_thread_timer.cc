// Copyright (C) 2026 The hamux authors. MPL-2.0.

#include <main_thread_timer.h>
#include <hamux_log.h>

#include <dhcp/iface_mgr.h>
#include <exceptions/exceptions.h>

#include <cerrno>
#include <cstring>
#include <sys/timerfd.h>
#include <unistd.h>

namespace isc {
namespace hamux {

MainThreadTimer::MainThreadTimer()
    : fd_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)), registered_(false) {
    if (fd_ < 0) {
        isc_throw(Unexpected, "timerfd_create: " << strerror(errno));
    }
}

MainThreadTimer::~MainThreadTimer() {
    cancel();
    if (registered_) {
        try {
            isc::dhcp::IfaceMgr::instance().deleteExternalSocket(fd_);
        } catch (...) {
        }
    }
    close(fd_);
}

void
MainThreadTimer::schedule(uint32_t delay_ms, std::function<void()> task) {
    if (!registered_) {
        isc::dhcp::IfaceMgr::instance().addExternalSocket(fd_, [this](int) { fire(); });
        registered_ = true;
    }
    task_ = std::move(task);
    struct itimerspec spec = {};
    // A zero it_value disarms a timerfd: the shortest delay is 1 ns.
    spec.it_value.tv_sec = delay_ms / 1000;
    spec.it_value.tv_nsec = (delay_ms % 1000) * 1000000L + (delay_ms == 0 ? 1 : 0);
    if (timerfd_settime(fd_, 0, &spec, 0) != 0) {
        task_ = std::function<void()>();
        isc_throw(Unexpected, "timerfd_settime: " << strerror(errno));
    }
}

void
MainThreadTimer::cancel() {
    task_ = std::function<void()>();
    struct itimerspec off = {};
    timerfd_settime(fd_, 0, &off, 0);
    uint64_t expirations;
    ssize_t n = read(fd_, &expirations, sizeof(expirations));
    (void)n;
}

void
MainThreadTimer::fire() {
    uint64_t expirations;
    if (read(fd_, &expirations, sizeof(expirations)) != sizeof(expirations)) {
        return;  // cancelled or rescheduled since IfaceMgr saw it readable
    }
    std::function<void()> task;
    task.swap(task_);
    if (!task) {
        return;
    }
    try {
        task();
    } catch (const std::exception& ex) {
        LOG_ERROR(hamux_logger, HAMUX_CALLOUT_FAILED).arg("main-thread timer").arg(ex.what());
    } catch (...) {
        LOG_ERROR(hamux_logger, HAMUX_CALLOUT_FAILED).arg("main-thread timer")
            .arg("unknown exception");
    }
}

} // namespace hamux
} // namespace isc
