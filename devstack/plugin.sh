#!/bin/bash
# devstack plugin: install nova-rbd-imagebackend and point nova-compute at it.

function install_nova_rbd_imagebackend {
    setup_develop "$NOVA_RBD_IMAGEBACKEND_DIR"
}

function configure_nova_rbd_imagebackend {
    local conf
    for conf in "$NOVA_CONF" "$NOVA_CPU_CONF"; do
        [[ -n "$conf" ]] || continue
        iniset "$conf" libvirt images_type rbd
        iniset "$conf" libvirt images_rbd_pool "$NOVA_RBD_POOL"
        iniset "$conf" libvirt images_rbd_ceph_conf "$NOVA_RBD_CEPH_CONF"
        iniset "$conf" libvirt rbd_user "$NOVA_RBD_USER"
        iniset "$conf" libvirt rbd_secret_uuid "$NOVA_RBD_SECRET_UUID"
    done
    # Activation: nova-compute starts as nova-rbd-compute (same arguments).
    NOVA_COMPUTE_BIN=nova-rbd-compute
}

if [[ "$1" == "stack" && "$2" == "install" ]]; then
    echo_summary "Installing nova-rbd-imagebackend"
    install_nova_rbd_imagebackend
elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
    echo_summary "Configuring Nova for nova-rbd-imagebackend"
    configure_nova_rbd_imagebackend
elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
    if is_service_enabled tempest; then
        iniset "$TEMPEST_CONFIG" compute-feature-enabled \
            block_migration_for_live_migration False
        iniset "$TEMPEST_CONFIG" compute-feature-enabled shelve True
    fi
fi
