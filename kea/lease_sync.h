// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_LEASE_SYNC_H
#define HAMUX_LEASE_SYNC_H

#include <hamux.h>

#include <cc/data.h>

#include <boost/noncopyable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace isc {
namespace hamux {

/// @brief One lease database synchronization from the partner, as libdhcp_ha 2.2's
/// HAService::synchronize runs it, but asynchronous on Kea's main thread (libdhcp_ha
/// blocks the main thread on a private IOService for the whole sync):
///
/// 1. dhcp-disable on the partner (origin ha-partner, max-period), before every page;
/// 2. lease4-get-page / lease6-get-page of sync-page-limit leases, from "start", then
///    from the last lease's address while pages come back full;
/// 3. each lease applied here with libdhcp_ha's rule: added if absent, replacing the
///    local one only if its cltt is newer (an equal cltt keeps the local lease); local
///    leases the partner lacks are kept. Applied through lease_cmds, on the main
///    thread (kea-dev 2.2 cannot compile the lease manager's headers, see
///    command_listener.h): this server's leases of the page's address range are read
///    with lease4-get-page / lease6-get-page (a lease4-get per lease cost a command per
///    lease more), and each lease to add or replace is written with lease4-update /
///    lease6-update with force-create;
/// 4. ha-sync-complete-notify (dhcp-enable for a partner that does not know it); after
///    a failure, dhcp-enable if the partner was disabled.
///
/// Main thread only; the sender's callbacks must arrive there too.
class LeaseSync : public boost::noncopyable {
public:
    /// @brief How a command reaches the partner: @c done gets Kea's answer (the first
    /// element of the list the partner sends) or null and the reason.
    typedef std::function<void(const data::ConstElementPtr& answer, const std::string& error)>
        Answered;
    typedef std::function<void(const std::string& body, Answered done)> Sender;
    /// @brief Hands hamux's outcome of a request to @c done: Kea's answer, or null and
    /// why (a failed request, or a reply that is not a Kea answer).
    static void deliver(hamux_status status, const std::string& reply, const Answered& done);

    /// @brief The sync ended: @c error is empty on success.
    typedef std::function<void(const std::string& error)> Done;

    /// @param max_period_s dhcp-disable's max-period (libdhcp_ha: sync-timeout in
    /// seconds, at least 1, for its own syncs; ha-sync's, or none: 0).
    LeaseSync(bool v6, const std::string& partner, uint32_t page_limit,
              uint32_t max_period_s, Sender send, Done done);

    /// @brief Sends the first dhcp-disable.
    void start();

    /// @brief Leases the partner sent, applied here, kept (the local one as new).
    uint64_t received() const { return (received_); }
    uint64_t applied() const { return (applied_); }
    uint64_t skipped() const { return (skipped_); }

private:
    void disablePartner();
    void getPage();
    void onPage(const data::ConstElementPtr& answer);
    /// @brief A lease's identity: its address, and for DHCPv6 its type.
    /// @throw BadValue if the lease has no address.
    std::string keyOf(const data::ConstElementPtr& lease) const;
    /// @brief The cltt of this server's leases by @c keyOf.
    typedef std::map<std::string, int64_t> Cltts;
    /// @brief This server's leases with an address above @c from ("start": any) up to
    /// @c last, read page by page from the local lease_cmds.
    /// @throw Unexpected if a page is refused.
    Cltts localCltts(const std::string& from, const std::string& last) const;
    /// @brief Applies one lease of a page, given this server's leases of the page's
    /// range; false (logged) if it could not be.
    bool apply(const data::ConstElementPtr& lease, const Cltts& local);
    /// @brief Ends the sync: re-enables the partner as libdhcp_ha does, then @c done_.
    void finish(const std::string& error);
    void enablePartner(const std::string& error);
    void end(const std::string& error);
    std::string command(const std::string& name, const data::ElementPtr& arguments) const;

    bool v6_;
    std::string partner_;
    uint32_t page_limit_;
    uint32_t max_period_s_;
    Sender send_;
    Done done_;
    std::string from_ = "start";
    bool partner_disabled_ = false;
    bool ended_ = false;
    uint64_t pages_ = 0;
    uint64_t received_ = 0;
    uint64_t applied_ = 0;
    uint64_t skipped_ = 0;
    std::chrono::steady_clock::time_point started_;
};

} // namespace hamux
} // namespace isc

#endif // HAMUX_LEASE_SYNC_H
