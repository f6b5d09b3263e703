#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: compute_router
short_description: Manage a Cloud Router and its Cloud NAT gateways (egress for VMs without an external IP)
version_added: 0.2.0
description:
  - Creates, updates (PATCH) or deletes one regional Cloud Router and the Cloud NAT gateways it
    holds. A NAT gives the VMs of the router's network and region that have no external IP
    address a way out to the internet (package mirrors, container registries, the model
    providers a gateway calls) without letting anything in.
  - A router that already matches costs a single GET and no write. NATs are compared by name;
    only the properties the task sets are compared, so the defaults Google fills in (endpoint
    types, network tier, timeouts) never count as a change.
  - A NAT is part of its router, not a resource of its own; a change is one PATCH of the
    router's whole NAT list. Compute Engine routers carry no fingerprint, so the module reads
    the router again before retrying a write whose answer was lost and rebuilds the list from
    what it finds then (NATs another operator added meanwhile are kept).
  - Cloud NAT is billed per gateway hour and per GB processed (see Google's Cloud NAT pricing).
author:
  - OpenClaw GCP maintainers (@openclaw)
extends_documentation_fragment:
  - openclaw.gcp.gcp
  - openclaw.gcp.attributes
  - openclaw.gcp.attributes.managed
options:
  name:
    description:
      - Name of the router (RFC 1035).
    type: str
    required: true
  region:
    description:
      - Region of the router, for example V(us-central1). A NAT serves the VMs of this region only.
    type: str
    required: true
  state:
    description:
      - Whether the router (with its NATs) should exist.
    type: str
    choices: [present, absent]
    default: present
  network:
    description:
      - Network name or link of the router. It cannot change once the router exists.
    type: str
    default: default
  description:
    description:
      - Free text description. Left as it is on an existing router when not set.
    type: str
  nats:
    description:
      - Cloud NAT gateways the router should hold, by name. Omitted, the router's NATs are left as
        they are.
      - NATs on the router that are not listed stay unless O(purge_nats=true).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Name of the NAT (RFC 1035), unique within the router.
        type: str
        required: true
      nat_ip_allocate_option:
        description:
          - How the NAT gets its external addresses. V(AUTO_ONLY) lets Google allocate and
            release them as needed (the only option this module manages).
        type: str
        choices: [AUTO_ONLY]
        default: AUTO_ONLY
      source_subnetwork_ip_ranges_to_nat:
        description:
          - Which address ranges of the network's subnetworks in the region use the NAT.
          - Google allows no other NAT for the same network and region once one covers every
            subnetwork.
        type: str
        choices: [ALL_SUBNETWORKS_ALL_IP_RANGES, ALL_SUBNETWORKS_ALL_PRIMARY_IP_RANGES]
        default: ALL_SUBNETWORKS_ALL_IP_RANGES
      logging:
        description:
          - Export NAT logs to Cloud Logging.
        type: bool
        default: false
      log_filter:
        description:
          - Which connections are logged when O(nats[].logging=true).
        type: str
        choices: [ALL, ERRORS_ONLY, TRANSLATIONS_ONLY]
        default: ALL
      min_ports_per_vm:
        description:
          - Minimum number of source ports each VM gets (2 to 65536). Left as it is when not set.
        type: int
  purge_nats:
    description:
      - Remove NATs of the router that O(nats) does not list. Needs O(nats).
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for each operation.
    type: int
    default: 300
notes:
  - A VM with no external IP address reaches the internet only through a Cloud NAT of its
    network and region; reaching it over SSH then goes through Identity-Aware Proxy (a firewall
    rule that admits TCP 22 from V(35.235.240.0/20)).
seealso:
  - module: openclaw.gcp.compute_instance
  - module: openclaw.gcp.compute_firewall
'''

EXAMPLES = r'''
- name: Router and Cloud NAT for the gateway VMs of us-central1 (they have no external IP)
  openclaw.gcp.compute_router:
    project: my-openclaw-project
    name: openclaw-router-default
    region: us-central1
    network: default
    nats:
      - name: openclaw-nat-default
        logging: true
        log_filter: ERRORS_ONLY

- name: Keep the router, remove every NAT but this one
  openclaw.gcp.compute_router:
    name: openclaw-router-default
    region: us-central1
    nats:
      - name: openclaw-nat-default
    purge_nats: true

- name: Remove the router and its NATs
  openclaw.gcp.compute_router:
    name: openclaw-router-default
    region: us-central1
    state: absent
'''

RETURN = r'''
router:
  description: The router after the task (predicted in check mode; empty when absent).
  returned: always
  type: dict
  contains:
    name:
      description: Router name.
      type: str
      sample: openclaw-router-default
    region:
      description: Region of the router.
      type: str
      sample: us-central1
    network:
      description: Short name of the network.
      type: str
      sample: default
    description:
      description: Description.
      type: str
    nats:
      description: The router's NATs, in the router's order.
      type: list
      elements: dict
      contains:
        name:
          description: NAT name.
          type: str
        nat_ip_allocate_option:
          description: How the NAT gets its addresses.
          type: str
          sample: AUTO_ONLY
        source_subnetwork_ip_ranges_to_nat:
          description: Which subnetwork ranges use the NAT.
          type: str
          sample: ALL_SUBNETWORKS_ALL_IP_RANGES
        logging:
          description: Whether NAT logs are exported.
          type: bool
        log_filter:
          description: Which connections are logged.
          type: str
          sample: ALL
        min_ports_per_vm:
          description: Minimum ports per VM, when set.
          type: int
    self_link:
      description: Google's link to the router.
      type: str
actions:
  description: What the task did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ['create']
'''

from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import (
    REGION_RE,
    ZONE_RE,
    Applied,
    GcpError,
    GcpModule,
    compute_link,
    short_name,
    validate_name,
)
from ansible_collections.openclaw.gcp.plugins.module_utils.compute import ComputeResource

NAT_KEYS = ('nat_ip_allocate_option', 'source_subnetwork_ip_ranges_to_nat', 'logging', 'log_filter', 'min_ports_per_vm')


def nat_view(nat):
    """One NAT as the module reports and compares it."""
    log = nat.get('logConfig') or {}
    return {
        'name': nat.get('name'),
        'nat_ip_allocate_option': nat.get('natIpAllocateOption'),
        'source_subnetwork_ip_ranges_to_nat': nat.get('sourceSubnetworkIpRangesToNat'),
        'logging': bool(log.get('enable', False)),
        'log_filter': log.get('filter') or 'ALL',
        'min_ports_per_vm': nat.get('minPortsPerVm'),
    }


def summarize(router):
    if not router:
        return {}
    return {
        'name': router.get('name'),
        'region': short_name(router.get('region')),
        'network': short_name(router.get('network')),
        'description': router.get('description') or '',
        'nats': [nat_view(n) for n in router.get('nats') or []],
        'self_link': router.get('selfLink'),
    }


def desired_nats(params):
    """The NATs of the task (``None``: not managed); ``min_ports_per_vm`` ``None`` = left alone."""
    if params.get('nats') is None:
        return None
    return [dict((k, nat.get(k)) for k in ('name',) + NAT_KEYS) for nat in params['nats']]


def nat_matches(current, wanted):
    return all(wanted[k] is None or current.get(k) == wanted[k] for k in NAT_KEYS)


def nat_body(wanted, base=None):
    """Google's NAT for ``wanted``, built on the NAT as read (``base``) so fields the task does
    not manage (timeouts, tiers, rules) stay as they are."""
    raw = dict(base or {})
    raw['name'] = wanted['name']
    raw['natIpAllocateOption'] = wanted['nat_ip_allocate_option']
    raw['sourceSubnetworkIpRangesToNat'] = wanted['source_subnetwork_ip_ranges_to_nat']
    raw['logConfig'] = {'enable': bool(wanted['logging']), 'filter': wanted['log_filter']}
    if wanted.get('min_ports_per_vm') is not None:
        raw['minPortsPerVm'] = wanted['min_ports_per_vm']
    return raw


def plan(router, params):
    """``(patch body, actions)`` that bring an existing ``router`` to the task; ``({}, [])`` when it matches."""
    body, actions = {}, []
    wanted = desired_nats(params)
    if wanted is not None:
        current = list(router.get('nats') or [])
        by_name = dict((n.get('name'), n) for n in current)
        names = set(w['name'] for w in wanted)
        new = []
        for nat in current:
            name = nat.get('name')
            if name not in names:
                if params['purge_nats']:
                    actions.append('remove NAT %s' % name)
                    continue
                new.append(nat)
                continue
            want = next(w for w in wanted if w['name'] == name)
            if nat_matches(nat_view(nat), want):
                new.append(nat)
            else:
                new.append(nat_body(want, nat))
                actions.append('update NAT %s' % name)
        for want in wanted:
            if want['name'] not in by_name:
                new.append(nat_body(want))
                actions.append('add NAT %s' % want['name'])
        if actions:
            body['nats'] = new
    if params.get('description') is not None and params['description'] != (router.get('description') or ''):
        body['description'] = params['description']
        actions.append('update description')
    return body, actions


def insert_body(params, project):
    body = {'name': params['name'], 'network': compute_link(project, params['network'], 'networks'),
            'nats': [nat_body(w) for w in desired_nats(params) or []]}
    if params.get('description'):
        body['description'] = params['description']
    return body


def validate(params):
    errors = []
    problem = validate_name(params['name'], 'Router name')
    if problem:
        errors.append(problem)
    region = params.get('region') or ''
    if ZONE_RE.match(region):
        errors.append('region %r is a zone: a router lives in a region (%s)' % (region, region.rsplit('-', 1)[0]))
    elif not REGION_RE.match(region):
        errors.append('region %r is not a region such as us-central1' % region)
    network = params.get('network') or ''
    if '/' not in network:
        problem = validate_name(network, 'Network name')
        if problem:
            errors.append(problem)
    seen = set()
    for nat in params.get('nats') or []:
        problem = validate_name(nat['name'], 'NAT name')
        if problem:
            errors.append(problem)
        if nat['name'] in seen:
            errors.append('NAT %s is listed more than once' % nat['name'])
        seen.add(nat['name'])
        ports = nat.get('min_ports_per_vm')
        if ports is not None and not 2 <= ports <= 65536:
            errors.append('min_ports_per_vm of NAT %s must be between 2 and 65536, got %s' % (nat['name'], ports))
    covering = [n['name'] for n in params.get('nats') or [] if n['source_subnetwork_ip_ranges_to_nat'].startswith('ALL_SUBNETWORKS')]
    if covering and len(params.get('nats') or []) > 1:
        errors.append('NAT %s covers every subnetwork of the region, so it must be the only NAT of the router' % covering[0])
    if params['purge_nats'] and params.get('nats') is None:
        errors.append('purge_nats needs nats (the NATs to keep)')
    return errors


def main():
    argument_spec = dict(
        name=dict(type='str', required=True),
        region=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        network=dict(type='str', default='default'),
        description=dict(type='str'),
        nats=dict(type='list', elements='dict', options=dict(
            name=dict(type='str', required=True),
            nat_ip_allocate_option=dict(type='str', default='AUTO_ONLY', choices=['AUTO_ONLY']),
            source_subnetwork_ip_ranges_to_nat=dict(type='str', default='ALL_SUBNETWORKS_ALL_IP_RANGES',
                                                    choices=['ALL_SUBNETWORKS_ALL_IP_RANGES', 'ALL_SUBNETWORKS_ALL_PRIMARY_IP_RANGES']),
            logging=dict(type='bool', default=False),
            log_filter=dict(type='str', default='ALL', choices=['ALL', 'ERRORS_ONLY', 'TRANSLATIONS_ONLY']),
            min_ports_per_vm=dict(type='int'),
        )),
        purge_nats=dict(type='bool', default=False),
        timeout=dict(type='int', default=300),
    )
    module = GcpModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    errors = validate(params)
    if errors:
        module.fail_json(msg='Invalid options for router %s: %s (no request was sent).' % (params['name'], '; '.join(errors)), errors=errors)

    client = module.client
    project = client.project
    region = params['region']
    collection = 'projects/%s/regions/%s/routers' % (project, region)
    path = '%s/%s' % (collection, params['name'])
    resource = 'router %s in region %s (project %s)' % (params['name'], region, project)
    router = ComputeResource(module, path, resource, 'router', summarize, float(params['timeout']))

    try:
        current = router.read()
        before = summarize(current)
        if params['state'] == 'absent':
            router.ensure_absent(current, before)

        if current is None:
            body = insert_body(params, project)
            predicted = summarize(dict(body, region=region, network=params['network'], selfLink=None))
            router.exit(True, before, router.create(collection, body, predicted), ['create'])

        if before['network'] != short_name(params['network']):
            module.fail_json(msg='Cannot move %s from network %s to %s: delete the router first (no change was made).' % (
                resource, before['network'], short_name(params['network'])))
        body, actions = plan(current, params)
        if not actions:
            router.exit(False, before, before, [])

        def reconcile():
            # No fingerprint on routers: read again and rebuild the change from what is there now.
            now = router.read()
            if now is None:
                raise GcpError('Failed to update %s: the router disappeared.' % resource)
            fresh, dummy = plan(now, params)
            return Applied(None) if not fresh else fresh
        after = router.update('PATCH', body, reconcile, summarize(dict(current, **body)))
        router.exit(True, before, after, actions)
    except GcpError as exc:
        module.fail_gcp(exc)


if __name__ == '__main__':
    main()
