// Copyright (C) 2026 The hamux authors. MPL-2.0.

#ifndef HAMUX_IMPL_H
#define HAMUX_IMPL_H

#include <command_listener.h>
#include <hamux_config.h>
#include <lease_sender.h>
#include <main_thread_queue.h>

#include <cc/data.h>
#include <dhcpsrv/network_state.h>
#include <hooks/hooks.h>

#include <boost/noncopyable.hpp>
#include <boost/shared_ptr.hpp>

namespace isc {
namespace hamux {

/// @brief Everything one load of libdhcp_hamux holds: the configuration, the sending
/// side (LeaseSender), the receiving side (CommandListener) and the bridge to Kea's main
/// thread. Created in load(), destroyed in unload(), so a reconfiguration starts from
/// scratch as it does with libdhcp_ha.
class HamuxImpl : public boost::noncopyable {
public:
    /// @brief Reads and checks the parameters (load(): a bad one refuses Kea's
    /// configuration).
    /// @throw HamuxConfigError naming what is wrong.
    HamuxImpl(const data::ConstElementPtr& high_availability);

    /// @brief Stops the listener (answering what it was handed), then the client
    /// (completing every update: parked queries still waiting are dropped).
    ~HamuxImpl();

    /// @brief dhcpX_srv_configured: creates the hamux client, binds the listener (the
    /// previous load's is gone: Kea unloads before it loads), hooks both into Kea's main
    /// loop and checks Kea's settings that can lose ACKs or leases with parking.
    /// @param json_config the server's configuration (the Dhcp4 or Dhcp6 map): Debian's
    /// kea-dev 2.2 cannot compile CfgMgr's headers, so settings are read from it.
    /// @param v6 whether this is kea-dhcp6.
    /// @param network_state the callout's "network_state": a backup does not serve DHCP
    /// (see @c adjustNetworkState).
    /// @throw HamuxConfigError (Kea then refuses the configuration).
    void configured(const data::ConstElementPtr& json_config, bool v6,
                    const dhcp::NetworkStatePtr& network_state);

    /// @brief leases4_committed / leases6_committed.
    void leases4Committed(hooks::CalloutHandle& handle);
    void leases6Committed(hooks::CalloutHandle& handle);

    /// @brief The hamux-status command's answer.
    data::ConstElementPtr status() const;

private:
    /// @brief leasesX_committed: sends the query's updates, parking it when it must
    /// wait for their acknowledgements.
    template<typename QueryPtr, typename Collection>
    void committed(hooks::CalloutHandle& handle, const char* query_name,
                   const char* leases_name, const char* deleted_name);

    /// @brief Warns where packet-queue-size or parked-packet-limit can lose ACKs or
    /// leases with wait-backup-ack (shared/docs/kea-hooks.md in the repository).
    void checkParkingSettings(const data::ConstElementPtr& json_config) const;

    /// @brief As libdhcp_ha 2.2 (HAService's constructor, then adjustNetworkState in
    /// the backup or passive-backup state): clears what HA disabled, then disables the
    /// DHCP service of a backup, both with NetworkState::Origin::HA_COMMAND, so a user's
    /// dhcp-enable does not make a backup serve. The destructor clears it again.
    void adjustNetworkState();

    HookConfigPtr config_;
    dhcp::NetworkStatePtr network_state_;
    bool multi_threaded_ = false;
    MainThreadQueue main_;
    LeaseSenderPtr sender_;
    CommandListenerPtr listener_;
    bool sockets_registered_ = false;
    bool cs_registered_ = false;
};

typedef boost::shared_ptr<HamuxImpl> HamuxImplPtr;

} // namespace hamux
} // namespace isc

#endif // HAMUX_IMPL_H
