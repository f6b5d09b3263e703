# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure helpers for Compute Engine resources, shared by the modules and the inventory plugin."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import metadata_to_dict, short_name


def summarize(instance):
    """The module's view of a Compute Engine instance resource."""
    if not instance:
        return {}
    nics = instance.get('networkInterfaces') or [{}]
    nic = nics[0] or {}
    access = (nic.get('accessConfigs') or [{}])[0] or {}
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
    return {
        'name': instance.get('name'),
        'id': None if instance.get('id') is None else str(instance.get('id')),
        'zone': short_name(instance.get('zone')),
        'status': instance.get('status'),
        'machine_type': short_name(instance.get('machineType')),
        'internal_ip': nic.get('networkIP'),
        'external_ip': access.get('natIP'),
        'labels': dict(instance.get('labels') or {}),
        'tags': sorted((instance.get('tags') or {}).get('items') or []),
        'metadata': metadata_to_dict(instance.get('metadata')),
        'deletion_protection': bool(instance.get('deletionProtection', False)),
        'service_account': service_account,
        'network': short_name(nic.get('network')),
        'subnetwork': short_name(nic.get('subnetwork')),
        'has_external_ip': bool(nic.get('accessConfigs')),
        'boot_disk_size_gb': size,
        'self_link': instance.get('selfLink'),
    }


def public_view(summary):
    """What the module returns (drops internal helper keys)."""
    return dict((k, v) for k, v in summary.items() if k not in ('has_external_ip', 'boot_disk_size_gb'))
