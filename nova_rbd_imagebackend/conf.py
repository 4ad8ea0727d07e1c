# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The plugin's own options, in the ``[rbd_imagebackend]`` group.

Nova's ``[libvirt]`` options (``images_rbd_pool``, ``images_rbd_ceph_conf``,
``rbd_user``, ``rbd_secret_uuid``, ``rbd_connect_timeout``, ...) keep their
meaning and are read from Nova's registration, never registered here.
"""

from oslo_config import cfg

GROUP = cfg.OptGroup(
    'rbd_imagebackend',
    title='Ceph RBD image backend plugin',
    help="""
Options of the nova-rbd-imagebackend plugin. The plugin serves
``[libvirt] images_type = rbd`` and otherwise uses Nova's own ``[libvirt]``
RBD options unchanged.
""")

OPTS = [
    cfg.IntOpt('op_timeout',
               default=30,
               min=1,
               help="""
Deadline, in seconds, for one Ceph operation.

Every librados and librbd call made by the plugin runs on a bounded worker
pool and is abandoned with an error after this many seconds, so that an
unresponsive cluster fails the request instead of hanging nova-compute. The
value is also handed to librados as ``rados_mon_op_timeout`` and
``rados_osd_op_timeout`` so that the abandoned call ends too.

Possible values:

* Any positive number of seconds. Long-running copies (flatten, import of
  an image that is not in the cluster) are made of many calls, each with
  this deadline, so this does not bound their total duration.

Related options:

* ``[libvirt] rbd_connect_timeout``: the deadline for opening the cluster
  connection.
* ``[rbd_imagebackend] max_workers``
"""),
    cfg.IntOpt('max_workers',
               default=8,
               min=1,
               max=128,
               help="""
Number of threads that run Ceph operations for this compute service.

Operations beyond this number wait for a free thread, for at most
``queue_timeout`` seconds; their ``op_timeout`` deadline counts from when
a thread starts them.

Related options:

* ``[rbd_imagebackend] op_timeout``
* ``[rbd_imagebackend] queue_timeout``
"""),
    cfg.IntOpt('queue_timeout',
               default=30,
               min=1,
               help="""
How long, in seconds, a Ceph operation may wait for a free worker thread.

An operation that no thread could start in this time fails with an error
saying that the service's Ceph workers were all busy, and is never run.
The count of such operations is logged with each one.

Related options:

* ``[rbd_imagebackend] max_workers``
* ``[rbd_imagebackend] op_timeout``
"""),
    cfg.IntOpt('mon_addrs_cache_seconds',
               default=60,
               min=0,
               help="""
How long, in seconds, the monitor addresses read from the cluster are
reused when writing disk XML.

The addresses are read over the open cluster connection, never with a
``ceph`` command: those of the monitors in quorum, so a monitor that
stopped leaves the disk XML of new guests once the other monitors have
voted it out and this time has passed. 0 reads them for every disk.
"""),
    cfg.IntOpt('pool_stats_cache_seconds',
               default=30,
               min=0,
               help="""
How long, in seconds, the pool capacity figures reported to the resource
tracker are reused.

The resource tracker asks for capacity several times per periodic task;
within this window the answer comes from memory. 0 asks the cluster every
time.
"""),
    cfg.IntOpt('leftover_grace_seconds',
               default=3600,
               min=60,
               help="""
Age, in seconds, from which an unused partial image, scratch image, trash
entry or staging folder counts as a leftover.

The compute service removes such leftovers in Nova's periodic image cache
task (``[image_cache] manager_interval``) and logs each one;
``nova-rbd-imagebackend audit`` lists them. No operation that is still
running lasts this long without holding its image open, and images in use
are never counted.

Related options:

* ``[image_cache] manager_interval``
"""),
    cfg.StrOpt('glance_pool',
               default='images',
               help="""
The pool Glance keeps images in, in the same cluster.

Only the host checks use it: at start-up and in ``nova-rbd-imagebackend
doctor`` the compute user must be able to snapshot into this pool (direct
instance snapshots and shelve do) and clone from it. Direct snapshots
themselves go to the pool of each instance disk's clone parent. When the
pool does not exist, the checks warn and skip its caps.

Possible values:

* The name of Glance's rbd store pool (glance_store's ``rbd_store_pool``).
* An empty string to skip the checks of Glance's pool.
"""),
    cfg.StrOpt('evacuate_fencing',
               default='required',
               choices=[
                   ('required', 'refuse the evacuation when fencing fails'),
                   ('best-effort', 'log an error and evacuate anyway'),
               ],
               help="""
What an evacuation does when the failed host's clients cannot be fenced.

Before an evacuated instance starts on its existing disk, the destination
blocklists every Ceph client that still watches the instance's images
(the old host's QEMU, which may be frozen rather than dead). When that
fails (the cluster does not answer, or the compute user's ``mon`` caps
do not allow ``osd blocklist``), ``required`` fails the evacuation with
the reason: a guest that wakes up on the old host could otherwise write
to the disk the new guest uses. Fence by hand
(``nova-rbd-imagebackend fence``) or power the old host off, and evacuate
again. ``best-effort`` goes on after logging an error; librbd then
breaks the old client's lock only after its watch times out (about
30 s), and does not stop it writing before that.
"""),
    cfg.BoolOpt('pool_image_cache',
                default=True,
                help="""
Keep one copy of each Glance image that is not in this cluster in the
ephemeral pool, and clone root disks from it.

The first boot of such an image on any host using the pool streams it from
Glance into the cache image ``cache.<image id>.<hash>`` (a raw image
straight into the pool; any other format through Nova's own inspection
and conversion, staged on local disk once per pool), checks Glance's hash,
snapshots it, and clones the root disk from the snapshot. Every later
boot of that image on any host using the pool is a copy-on-write clone.
When off, every boot downloads and imports the image, as Nova's in-tree
backend does without its ``_base`` file.

Cache images whose snapshot has no clone are removed by Nova's periodic
image cache task once unused for ``[image_cache]
remove_unused_original_minimum_age_seconds``, when ``[image_cache]
remove_unused_base_images`` is set, and by ``nova-rbd-imagebackend
cache prune``.

Related options:

* ``pool_image_cache_lease_seconds``
* ``[image_cache] remove_unused_base_images``
* ``[image_cache] remove_unused_original_minimum_age_seconds``
"""),
    cfg.IntOpt('pool_image_cache_lease_seconds',
               default=60,
               min=5,
               help="""
How long, in seconds, a host's claim to import an image into the pool
image cache lasts without renewal.

The importing host renews its claim (a RADOS lock with this duration on
the object ``nova_rbd_imagebackend.cache.<image id>.<hash>``) three times
per period. Hosts booting the same image meanwhile wait for the cache
image instead of importing it again. When the importing host dies, its
claim lapses after this time, and the next boot removes the partial image
and imports it afresh.
"""),
    cfg.BoolOpt('convert_without_local_copy',
                default=True,
                help="""
Fill the pool image cache from an image that is not raw (qcow2, vmdk,
vdi, vhd, vhdx) without a copy on the compute host's disk.

qemu-nbd reads the image from Glance by HTTP ranges, through a server on
the loopback interface that adds this request's credentials, and the raw
content goes straight into the pool. Glance's file is also read once in
order, for the format inspection before QEMU opens it and for the hash
check before the cache image is published: twice Glance's bandwidth,
none of the host's disk. When false, or when Glance does not serve
ranges, Nova downloads and converts the image in a folder under
``[DEFAULT] instances_path`` (as large as the disk), then it goes into
the pool.

Related options:

* ``pool_image_cache``
* ``image_read_timeout``
"""),
    cfg.IntOpt('image_read_timeout',
               default=60,
               min=1,
               help="""
How long, in seconds, a read from Glance may stall while the pool image
cache is filled without a local copy before the fill fails (and its
partial image is removed).
"""),
    cfg.IntOpt('progress_interval',
               default=10,
               min=1,
               help="""
How often, in seconds, a long copy (import, flatten, cache fill) logs its
progress: bytes done, rate and expected time left.
"""),
    cfg.ListOpt('image_data_pools',
                default=[],
                help="""
Data pools that an image property ``rbd_data_pool`` may name.

A flavor's extra spec ``rbd:data_pool`` names any pool (flavors are the
operator's); image properties are set by whoever uploads the image, so an
image may put its disks' data only into the pools listed here. A boot of
an image naming another pool fails with that reason. Each pool must exist,
be replicated or erasure-coded with ``allow_ec_overwrites``, and be
writable by ``[libvirt] rbd_user`` (``profile rbd pool=<name>``).
"""),
]


def register_opts(conf):
    """Register the plugin's options on ``conf`` (idempotent)."""
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    """Return the options for oslo-config-generator."""
    return [(GROUP, OPTS)]
