# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure helpers for Compute Engine resources, shared by the modules and the inventory plugin."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import os
import re

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import (
    Change, GcpError, Resource, compute_link, metadata_to_dict, normalize_link, short_name, zone_to_region)

# A machine type's name: predefined (e2-small) or custom (e2-custom-2-4096).
MACHINE_TYPE_RE = re.compile(r'^[a-z0-9][-a-z0-9]{0,62}$')

# Metadata keys whose values are settings, never secrets: shown in results and diffs as they are.
# Every other value (a startup script, an API key a user put there) is masked unless listed in
# the module's show_metadata option.
PLAIN_METADATA_KEYS = frozenset([
    'ssh-keys', 'block-project-ssh-keys', 'enable-oslogin', 'enable-oslogin-2fa', 'enable-guest-attributes',
    'serial-port-enable', 'google-logging-enabled', 'google-monitoring-enabled', 'enable-osconfig',
])

# One random key per process: equal values mask alike within a run (so a diff shows what
# changed), and the digest says nothing about the value to anyone who reads the log later.
_MASK_KEY = os.urandom(32)


def summarize(instance):
    """The one view of a Compute Engine instance resource that every plugin reports.

    ``compute_instance``, ``compute_instance_info`` (through :func:`public_view`) and the
    inventory plugin (through :func:`inventory_view`) all start from it.
    """
    if not instance:
        return {}
    nics = instance.get('networkInterfaces') or [{}]
    nic = nics[0] or {}
    configs = nic.get('accessConfigs') or []
    sas = instance.get('serviceAccounts') or []
    service_account = None
    if sas:
        service_account = {'email': sas[0].get('email'), 'scopes': sorted(sas[0].get('scopes') or [])}
    boot = [d for d in instance.get('disks') or [] if d.get('boot')]
    size = None
    if boot and boot[0].get('diskSizeGb') is not None:
        try:
            size = int(boot[0]['diskSizeGb'])
        except (TypeError, ValueError):
            size = None
    zone = short_name(instance.get('zone'))
    return {
        'name': instance.get('name'),
        'id': None if instance.get('id') is None else str(instance.get('id')),
        'zone': zone,
        'region': zone_to_region(zone) if zone else None,
        'status': instance.get('status'),
        'machine_type': short_name(instance.get('machineType')),
        'internal_ip': nic.get('networkIP'),
        # An ephemeral address is released while the VM is stopped: the access config stays, empty.
        'external_ip': next((c['natIP'] for c in configs if c.get('natIP')), None),
        'labels': dict(instance.get('labels') or {}),
        'tags': sorted((instance.get('tags') or {}).get('items') or []),
        'metadata': metadata_to_dict(instance.get('metadata')),
        'deletion_protection': bool(instance.get('deletionProtection', False)),
        'service_account': service_account,
        'network': short_name(nic.get('network')),
        'subnetwork': short_name(nic.get('subnetwork')),
        'has_external_ip': bool(configs),
        'boot_disk_size_gb': size,
        'self_link': instance.get('selfLink'),
        'creation_timestamp': instance.get('creationTimestamp'),
        'shielded_vm': shielded_view(instance.get('shieldedInstanceConfig')),
        'attached_disks': attached_disks_view(instance),
    }


SHIELDED_FIELDS = (('secure_boot', 'enableSecureBoot'), ('vtpm', 'enableVtpm'),
                   ('integrity_monitoring', 'enableIntegrityMonitoring'))


def shielded_view(config):
    """``{secure_boot, vtpm, integrity_monitoring}`` from Google's ``shieldedInstanceConfig`` (or ``None``)."""
    if config is None:
        return None
    return dict((ours, bool(config.get(theirs, False))) for ours, theirs in SHIELDED_FIELDS)


def shielded_body(view):
    """Google's ``shieldedInstanceConfig`` for the settings given (``None`` values left out)."""
    return dict((theirs, view[ours]) for ours, theirs in SHIELDED_FIELDS if view.get(ours) is not None)


def mask_value(value):
    """A stand-in for a secret value: equal values give equal stand-ins within one run."""
    digest = hmac.new(_MASK_KEY, str(value).encode('utf-8'), hashlib.sha256).hexdigest()[:12]
    return 'VALUE_HIDDEN (%d characters, run digest %s)' % (len(str(value)), digest)


def masked_metadata(metadata, shown=()):
    """Metadata with every value not known to be a plain setting (or listed in ``shown``) masked."""
    if metadata is None:
        return None
    visible = PLAIN_METADATA_KEYS | frozenset(shown or ())
    return dict((k, v if k in visible else mask_value(v)) for k, v in metadata.items())


def public_view(summary, shown_metadata=()):
    """What the modules return: internal helper keys dropped, secret metadata values masked."""
    out = dict((k, v) for k, v in summary.items() if k not in ('has_external_ip', 'boot_disk_size_gb'))
    if 'metadata' in out:
        out['metadata'] = masked_metadata(out['metadata'], shown_metadata)
    return out


def inventory_view(project, summary):
    """The inventory plugin's host variables (plain data, cacheable). Metadata is left out: it may hold secrets."""
    out = dict((k, v) for k, v in summary.items()
               if k not in ('metadata', 'service_account', 'has_external_ip', 'boot_disk_size_gb', 'subnetwork',
                            'deletion_protection', 'shielded_vm', 'attached_disks'))
    out['project'] = project
    out['self_link'] = normalize_link(summary.get('self_link'))
    out['service_accounts'] = [summary['service_account']['email']] if summary.get('service_account') else []
    return out


# -- ssh-keys metadata ------------------------------------------------------------------------

def ssh_key_identity(line):
    """``(user, key type, key blob)`` of one ``ssh-keys`` line, ignoring its comment; ``None`` if malformed."""
    line = (line or '').strip()
    if ':' not in line:
        return None
    user, rest = line.split(':', 1)
    parts = rest.split()
    if not user or len(parts) < 2:
        return None
    return user, parts[0], parts[1]


def merge_ssh_keys(current, wanted, purge=False):
    """The ``ssh-keys`` value holding every line of ``wanted``.

    Lines already there (another operator's, the ones ``gcloud compute ssh`` adds) stay, in
    their order, unless ``purge``; a wanted key already present (same user, type and blob) is
    not added twice, whatever its comment.
    """
    lines = [] if purge else [line for line in (current or '').splitlines() if line.strip()]
    have = set(ssh_key_identity(line) for line in lines)
    for line in wanted:
        identity = ssh_key_identity(line)
        if identity not in have:
            lines.append(line.strip())
            have.add(identity)
    return '\n'.join(lines)


# -- one resource a module reconciles -----------------------------------------------------------

def user_label(link):
    """``instance gw`` for a link in a resource's ``users`` (the instances a disk is attached to)."""
    parts = normalize_link(link).split('/')
    kind = parts[-2] if len(parts) > 1 else 'resource'
    return '%s %s' % (kind[:-1] if kind.endswith('s') else kind, parts[-1])


class ComputeResource(Resource):
    """``Resource`` for one Compute Engine resource: writes through ``compute_mutation`` (a request
    id, the zonal, regional or global operation waited for), custom verbs as ``/verb``.

    A resource whose ``users`` (Google's field: the instances a disk is attached to) is not
    empty is not deleted: ``in_use_words`` (how it is used, how to free it), for example
    ``('attached to', 'detach it')``, make that refusal's sentence. ``in_use`` explains Google's
    own refusal to delete a resource another one uses (``resourceInUseByAnotherResource``), for
    example ``'a disk still carries it: detach it from every disk'``.
    """

    separator = '/'

    def __init__(self, module, path, resource, key, summarize, timeout, diff_view=None, in_use_words=None, in_use=None):
        super(ComputeResource, self).__init__(module, 'compute', path, resource, key, summarize, timeout, diff_view=diff_view)
        self.in_use_words = in_use_words or ('used by', 'free it')
        self.in_use = in_use

    def send(self, method, path, action, reconcile, body=None, params=None, wait=True):
        return self.client.compute_mutation(method, path, action, self.resource, body=body, params=params,
                                            reconcile=reconcile, wait=wait, timeout=self.timeout)

    def refuse_delete(self, current):
        """Fail, before any write, while other resources use this one (Google's ``users`` field)."""
        users = [user_label(link) for link in (current or {}).get('users') or []]
        if not users:
            return
        kinds = set(user.split(' ', 1)[0] for user in users)
        kind = kinds.pop() if len(kinds) == 1 else 'resource'
        used, free = self.in_use_words
        raise GcpError('Cannot delete %s: it is %s %s; %s or delete %s first (no change was made).' % (
            self.resource, used, ', '.join(users), free, 'that %s' % kind if len(users) == 1 else 'those %ss' % kind))

    def delete(self, why='deleting it'):
        """Delete the resource; Google's in-use refusal explained with ``in_use``."""
        try:
            super(ComputeResource, self).delete(why)
        except GcpError as exc:
            if exc.reason == 'resourceInUseByAnotherResource' and self.in_use:
                raise exc.amend('%s before %s' % (self.in_use, why))
            raise


def labels_change(current, wanted, purge=False):
    """The ``setLabels`` ``Change`` that gives ``current`` (a resource as read) its labels, or ``None``.

    Labels it carries that ``wanted`` does not list stay unless ``purge`` (``merge_labels``). The
    body carries the label fingerprint; on a stale one (someone changed the labels meanwhile)
    the labels are merged again with what the resource carries then. The module's view must
    have ``labels``.
    """
    labels = merge_labels(current.get('labels'), wanted, purge)
    if labels == dict(current.get('labels') or {}):
        return None

    def body(now):
        return {'labels': merge_labels(now.get('labels'), wanted, purge), 'labelFingerprint': now.get('labelFingerprint')}
    return Change('set labels', lambda view: dict(view, labels=labels),
                  lambda view: bool(view) and view.get('labels') == merge_labels(view.get('labels'), wanted, purge),
                  body=body(current), verb='setLabels', action='set labels', rebuild=body)


# -- labels -----------------------------------------------------------------------------------

def merge_labels(current, wanted, purge=False):
    """The labels a resource should carry: ``wanted`` over ``current`` (kept unless ``purge``).

    ``wanted`` ``None`` means labels are not managed: ``current`` as it is.
    """
    if wanted is None:
        return dict(current or {})
    if purge:
        return dict(wanted)
    return dict(current or {}, **wanted)


# -- disks ------------------------------------------------------------------------------------

def disk_summary(disk):
    """The view of a Compute Engine disk resource that ``compute_disk`` reports (``{}`` when absent)."""
    if not disk:
        return {}
    size = disk.get('sizeGb')
    try:
        size = int(size) if size is not None else None
    except (TypeError, ValueError):
        size = None
    zone = short_name(disk.get('zone'))
    return {
        'name': disk.get('name'),
        'id': None if disk.get('id') is None else str(disk.get('id')),
        'zone': zone,
        'size_gb': size,
        'type': short_name(disk.get('type')),
        'status': disk.get('status'),
        'labels': dict(disk.get('labels') or {}),
        'description': disk.get('description') or '',
        'source_snapshot': short_name(disk.get('sourceSnapshot')) or '',
        'resource_policies': sorted(short_name(p) for p in disk.get('resourcePolicies') or []),
        'users': sorted(short_name(u) for u in disk.get('users') or []),
        'self_link': disk.get('selfLink'),
        'creation_timestamp': disk.get('creationTimestamp'),
        'last_attach_timestamp': disk.get('lastAttachTimestamp'),
        'last_detach_timestamp': disk.get('lastDetachTimestamp'),
    }


def attached_disks_view(instance):
    """The non-boot disks of an instance: ``[{name, device_name, mode, auto_delete}]`` by device name."""
    out = []
    for disk in (instance or {}).get('disks') or []:
        if disk.get('boot'):
            continue
        out.append({
            'name': short_name(disk.get('source')),
            'device_name': disk.get('deviceName'),
            'mode': disk.get('mode') or 'READ_WRITE',
            'auto_delete': bool(disk.get('autoDelete', False)),
        })
    return sorted(out, key=lambda d: d['device_name'] or '')


def wanted_attached_disks(items):
    """The ``attached_disks`` option normalised: device name defaults to the disk name."""
    out = []
    for item in items or []:
        out.append({
            'name': short_name(item['name']),
            'device_name': item.get('device_name') or short_name(item['name']),
            'mode': item.get('mode') or 'READ_WRITE',
            'auto_delete': bool(item.get('auto_delete')),
            'state': item.get('state') or 'present',
        })
    return out


def attached_disk_body(project, zone, item):
    """The ``AttachedDisk`` of an insert body or an ``attachDisk`` request."""
    return {
        'source': compute_link(project, item['name'], 'disks', 'zones/%s' % zone),
        'deviceName': item['device_name'],
        'mode': item['mode'],
        'autoDelete': item['auto_delete'],
        'boot': False,
        'type': 'PERSISTENT',
    }


def plan_disk_attachments(current, wanted):
    """Steps that bring the attached disks (``attached_disks_view``) to ``wanted``, and warnings.

    Only the disks ``wanted`` names are touched: disks attached by others stay. Steps are
    ``(kind, item)`` with kind ``attach``, ``detach`` (item = the attachment found) or
    ``auto_delete``; a device name or mode that differs on an attached disk is only warned about
    (changing it means detaching a disk that may be mounted).
    """
    steps = []
    warnings = []
    by_name = dict((d['name'], d) for d in current)
    devices = dict((d['device_name'], d) for d in current)
    for item in wanted:
        found = by_name.get(item['name'])
        if item['state'] == 'absent':
            if found:
                steps.append(('detach', found))
            continue
        if found is None:
            taken = devices.get(item['device_name'])
            if taken is not None:
                warnings.append('device name %s is used by disk %s: disk %s cannot be attached under it'
                                % (item['device_name'], taken['name'], item['name']))
                continue
            steps.append(('attach', item))
            continue
        for key in ('device_name', 'mode'):
            if found[key] != item[key]:
                warnings.append('disk %s is attached with %s %s, not %s; detach it to change that'
                                % (item['name'], key.replace('_', ' '), found[key], item[key]))
        if found['auto_delete'] != item['auto_delete']:
            steps.append(('auto_delete', dict(found, auto_delete=item['auto_delete'])))
    return steps, warnings


def disk_step_label(kind, item):
    if kind == 'attach':
        return 'attach disk %s as %s' % (item['name'], item['device_name'])
    if kind == 'detach':
        return 'detach disk %s' % item['name']
    return 'set auto-delete of disk %s to %s' % (item['name'], str(item['auto_delete']).lower())


def apply_disk_step(view, kind, item):
    """``view`` (an ``attached_disks_view``) after one step: the prediction check mode reports."""
    rest = [d for d in view if d['name'] != item['name']]
    if kind == 'detach':
        return rest
    entry = dict((k, item[k]) for k in ('name', 'device_name', 'mode', 'auto_delete'))
    return sorted(rest + [entry], key=lambda d: d['device_name'] or '')
