#!/bin/bash
# devstack plugin for nova-rbd-imagebackend: install the package, configure
# nova-compute for images_type=rbd and run it as nova-rbd-compute.

function install_nova_rbd_imagebackend {
    setup_develop "$NOVA_RBD_IMAGEBACKEND_DIR"
}

function configure_nova_rbd_imagebackend {
    local conf=${NOVA_CPU_CONF:-$NOVA_CONF}
    iniset "$conf" libvirt images_type rbd
    iniset "$conf" libvirt images_rbd_pool "$NOVA_RBD_POOL"
    iniset "$conf" libvirt images_rbd_ceph_conf "$NOVA_RBD_CEPH_CONF"
    iniset "$conf" libvirt rbd_user "$NOVA_RBD_USER"
    iniset "$conf" libvirt rbd_secret_uuid "$NOVA_RBD_SECRET_UUID"
    iniset "$conf" libvirt disk_cachemodes "$NOVA_RBD_DISK_CACHEMODES"
    iniset "$conf" libvirt hw_disk_discard "$NOVA_RBD_HW_DISK_DISCARD"
    iniset "$conf" rbd_imagebackend op_timeout "$NOVA_RBD_OP_TIMEOUT"
}

# Until the Ceph manager has flattened it, an instance snapshot's image in
# Glance's pool is a clone of the instance disk: Glance needs read access
# to the ephemeral pool to serve or delete it meanwhile.  Adds that to
# Glance's cephx user, keeping its other caps; run again, it changes
# nothing.
function configure_glance_caps_for_nova_rbd_imagebackend {
    local user=client.$NOVA_RBD_GLANCE_USER
    local grant="profile rbd-read-only pool=$NOVA_RBD_POOL"
    local -a caps
    mapfile -d '' caps < <(
        sudo ceph -c "$NOVA_RBD_CEPH_CONF" auth get "$user" -f json |
        python3 -c '
import json, sys
grant = sys.argv[1]
caps = json.load(sys.stdin)[0]["caps"]
osd = caps.get("osd", "")
if grant not in osd:
    caps["osd"] = (osd + ", " if osd else "") + grant
    sys.stdout.write("\0".join(sum(caps.items(), ())) + "\0")
' "$grant")
    if (( ${#caps[@]} )); then
        sudo ceph -c "$NOVA_RBD_CEPH_CONF" auth caps "$user" "${caps[@]}"
    fi
}

# The activation step: the compute service runs as nova-rbd-compute, a
# drop-in for nova-compute that checks the setup before it starts.
function start_nova_rbd_compute {
    local conf=${NOVA_CPU_CONF:-$NOVA_CONF}
    stop_process n-cpu
    run_process n-cpu \
        "$NOVA_BIN_DIR/nova-rbd-compute --config-file $conf" "$LIBVIRT_GROUP"
}

function configure_tempest_for_nova_rbd_imagebackend {
    # Instance disks are on shared storage: no block migration.
    iniset "$TEMPEST_CONFIG" compute-feature-enabled \
        block_migration_for_live_migration False
    iniset "$TEMPEST_CONFIG" compute-feature-enabled shelve True
}

if [[ "$1" == "stack" && "$2" == "install" ]]; then
    echo_summary "Installing nova-rbd-imagebackend"
    install_nova_rbd_imagebackend
elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
    echo_summary "Configuring nova-compute for nova-rbd-imagebackend"
    configure_nova_rbd_imagebackend
    if is_service_enabled g-api; then
        configure_glance_caps_for_nova_rbd_imagebackend
    fi
elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
    if is_service_enabled n-cpu; then
        echo_summary "Starting nova-compute as nova-rbd-compute"
        start_nova_rbd_compute
    fi
elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
    if is_service_enabled tempest; then
        configure_tempest_for_nova_rbd_imagebackend
    fi
elif [[ "$1" == "unstack" ]]; then
    # devstack stops n-cpu itself; nothing else runs on our behalf.
    :
elif [[ "$1" == "clean" ]]; then
    # Instance disks live in the Ceph pool that devstack-plugin-ceph
    # removes with its cluster.
    :
fi
