# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: compute
short_description: Google Compute Engine instances (OpenClaw gateways) as an inventory
description:
  - Reads the instances of one or more Google Cloud projects and adds them as hosts, with their
    zone, region, machine type, status, labels and addresses as host variables.
  - Costs one C(instances.aggregatedList) request per project and page of 500 instances; the
    label, status and O(filters) conditions are sent to the API, so instances that do not match
    never travel. Zones are chosen from the same answer (no request per zone).
  - Requests are retried with exponential back-off on HTTP 429 and 5xx and on connection errors;
    one token exchange serves every request of a run.
  - Uses the same client, credentials options and environment variables as the openclaw.gcp modules.
  - The configuration file name must end with C(compute.yml) or C(compute.yaml).
  - Values read from the API are marked unsafe, so templates in them are never evaluated.
version_added: 0.1.0
author:
  - OpenClaw GCP maintainers (@openclaw)
extends_documentation_fragment:
  - openclaw.gcp.gcp
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  service_account_contents:
    description:
      - The contents of a service-account key (JSON), as a string or a dictionary.
      - If not set, E(GCP_SERVICE_ACCOUNT_CONTENTS) is used.
    type: raw
  plugin:
    description: Marks the file as a configuration of this plugin.
    required: true
    type: str
    choices: [openclaw.gcp.compute]
  projects:
    description:
      - The projects to read. One aggregatedList request (per page) each.
      - If not set, the single project of O(project) (or E(GCP_PROJECT)) is read.
    type: list
    elements: str
    default: []
  zones:
    description:
      - Keep only instances in these zones. Empty keeps every zone.
      - Applied to the zone keys of the aggregated answer, so it costs no extra request.
    type: list
    elements: str
    default: []
  labels:
    description:
      - Keep only instances carrying all of these labels with these values (sent to the API as a filter).
      - The default selects the VMs the openclaw.gcp playbooks create. Set V({}) to read every instance.
    type: dict
    default:
      openclaw-role: gateway
  status:
    description:
      - Keep only instances in one of these states (sent to the API as a filter). Empty keeps all.
    type: list
    elements: str
    choices: [PROVISIONING, STAGING, RUNNING, STOPPING, SUSPENDING, SUSPENDED, REPAIRING, TERMINATED]
    default: []
  filters:
    description:
      - Further Compute Engine filter expressions, for example C(cpuPlatform = "Intel Broadwell").
        They are combined with the label and status filters with C(AND).
    type: list
    elements: str
    default: []
  hostnames:
    description:
      - How to name each host, in order of preference; the first that gives a value wins.
      - V(name) is the instance name, V(public_ip) the external address, V(private_ip) the internal
        address, V(label:KEY) the value of the label KEY.
      - When two instances (in different zones or projects) would get the same name, the later one
        is named C(NAME.ZONE.PROJECT) and a warning says so.
    type: list
    elements: str
    default: [name]
  ansible_host:
    description:
      - What C(ansible_host) is set to.
      - V(public_ip) is the external address, or the internal one for VMs without an external address.
      - V(private_ip) is the internal address (the controller runs inside the VPC or through a VPN).
      - V(iap) connects through Identity-Aware Proxy TCP forwarding
        (C(gcloud compute start-iap-tunnel) as the SSH C(ProxyCommand)), for VMs without an external address.
      - V(none) leaves C(ansible_host) unset (the host name is then the address).
    type: str
    choices: [public_ip, private_ip, iap, none]
    default: public_ip
  vars_prefix:
    description: Prefix of the host variables this plugin sets (C(gce_name), C(gce_zone), ...).
    type: str
    default: gce_
  retries:
    description: Attempts per request on transient errors (HTTP 429, 5xx, connection errors).
    type: int
    default: 8
  retry_timeout:
    description: Seconds after which a request is no longer retried.
    type: float
    default: 120
notes:
  - 'Host variables, with the default prefix: C(gce_name), C(gce_id), C(gce_project), C(gce_zone),
    C(gce_region), C(gce_machine_type) (short name), C(gce_status), C(gce_labels), C(gce_tags),
    C(gce_internal_ip), C(gce_external_ip), C(gce_network), C(gce_self_link), C(gce_creation_timestamp),
    C(gce_service_accounts) (emails).'
  - 'C(meta: refresh_inventory) reads the API again and refreshes the cache.'
'''

EXAMPLES = r'''
# inventory/gcp.compute.yml: the gateways of one project, grouped by zone and status
plugin: openclaw.gcp.compute
projects:
  - my-openclaw-project
auth_kind: application
labels:
  openclaw-role: gateway
keyed_groups:
  - key: gce_zone
    prefix: zone
  - key: gce_status | lower
    prefix: status
groups:
  openclaw_gateways: "true"

---
# Only running VMs of two zones, named by their label "env", reached through IAP
plugin: openclaw.gcp.compute
projects: [my-openclaw-project]
zones: [us-central1-a, europe-west1-b]
status: [RUNNING]
hostnames:
  - label:env
  - name
ansible_host: iap
compose:
  ansible_user: "'openclaw'"

---
# Through a Private Service Connect endpoint, cached for 5 minutes (the same overrides can come
# from gcloud's CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE variable instead)
plugin: openclaw.gcp.compute
projects: [my-openclaw-project]
api_endpoint_overrides:
  compute: https://compute-myendpoint.p.googleapis.com/compute/v1/
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/openclaw-gcp/inventory
cache_timeout: 300
'''

import copy
import keyword
import os
import re

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.template import is_trusted_as_template
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.openclaw.gcp.plugins.module_utils.compute import inventory_view, summarize
from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import GcpClient, GcpError, gcp_argument_spec, short_name

_VAR_NAME_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
# Names whose value Ansible supplies itself (magic variables) or that Python reserves: never looked up directly.
_RESERVED_NAMES = frozenset(['inventory_hostname', 'inventory_hostname_short', 'group_names', 'groups', 'hostvars',
                             'omit', 'vars', 'environment', 'playbook_dir', 'ansible_play_hosts', 'True', 'False',
                             'None', 'true', 'false', 'none'] + keyword.kwlist)
_PLAIN_TYPES = (str, int, float, bool, list, dict, type(None))


def _trusted(value):
    """Whether a string (or a string inside a list or dict) is trusted as a template: those are evaluated, not looked up."""
    if isinstance(value, str):
        return is_trusted_as_template(value)
    if isinstance(value, dict):
        return any(_trusted(k) or _trusted(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_trusted(v) for v in value)
    return False


# Options of the shared client (the doc fragment openclaw.gcp.gcp) and their environment fallbacks.
_AUTH_OPTIONS = ('project', 'auth_kind', 'service_account_file', 'service_account_contents',
                 'access_token', 'scopes', 'api_endpoint_overrides', 'universe_domain', 'token_cache')


def _quote(value):
    """A filter string literal."""
    return '"%s"' % str(value).replace('\\', '\\\\').replace('"', '\\"')


def build_filter(labels=None, status=None, extra=None):
    """The server-side ``filter`` expression for an aggregatedList, or ``None`` for everything.

    ``{'openclaw-role': 'gateway'}``, ``['RUNNING', 'STOPPING']`` ->
    ``(labels.openclaw-role = "gateway") AND ((status = "RUNNING") OR (status = "STOPPING"))``.
    """
    terms = []
    for key in sorted(labels or {}):
        terms.append('(labels.%s = %s)' % (key, _quote(labels[key])))
    status = list(status or [])
    if len(status) == 1:
        terms.append('(status = %s)' % _quote(status[0]))
    elif status:
        terms.append('(%s)' % ' OR '.join('(status = %s)' % _quote(s) for s in status))
    for expr in extra or []:
        expr = expr.strip()
        if expr:
            terms.append('(%s)' % expr)
    return ' AND '.join(terms) or None


def summarize_instance(project, item):
    """The fields the inventory uses, from one instance of the API: the modules' view, minus metadata."""
    return inventory_view(project, summarize(item))


def pick_hostname(instance, preferences):
    """The first usable name from the ``hostnames`` preference list, else ``None``."""
    for pref in preferences:
        if pref == 'name':
            value = instance.get('name')
        elif pref == 'public_ip':
            value = instance.get('external_ip')
        elif pref == 'private_ip':
            value = instance.get('internal_ip')
        elif pref.startswith('label:'):
            value = (instance.get('labels') or {}).get(pref[len('label:'):])
        else:
            raise AnsibleError('hostnames: unknown entry %r; use name, public_ip, private_ip or label:KEY.' % pref)
        if value:
            return value
    return None


def connection_vars(instance, mode):
    """``ansible_host`` (and, for IAP, the SSH proxy command) for one instance."""
    if mode == 'none':
        return {}
    if mode == 'private_ip':
        return {'ansible_host': instance.get('internal_ip')} if instance.get('internal_ip') else {}
    if mode == 'iap':
        proxy = ('gcloud compute start-iap-tunnel %s 22 --listen-on-stdin --project=%s --zone=%s --verbosity=warning'
                 % (instance['name'], instance['project'], instance['zone']))
        return {'ansible_host': instance['name'], 'ansible_ssh_common_args': "-o ProxyCommand='%s'" % proxy}
    address = instance.get('external_ip') or instance.get('internal_ip')
    return {'ansible_host': address} if address else {}


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = 'openclaw.gcp.compute'

    def __init__(self):
        super(InventoryModule, self).__init__()
        self.client_factory = GcpClient
        self.request_count = 0

    def verify_file(self, path):
        if super(InventoryModule, self).verify_file(path):
            return path.endswith(('compute.yml', 'compute.yaml'))
        return False

    # -- options --------------------------------------------------------------------------------

    def client_params(self):
        """The shared client's options: this file's values, else the modules' environment variables."""
        spec = gcp_argument_spec()
        params = {}
        for key in _AUTH_OPTIONS:
            value = self.get_option(key)
            if value in (None, '', []):
                value = None
                fallback = spec.get(key, {}).get('fallback')
                for name in (fallback[1] if fallback else []):
                    if os.environ.get(name):
                        value = os.environ[name]
                        break
                if key == 'scopes' and isinstance(value, str):
                    value = [s.strip() for s in value.split(',') if s.strip()]
            params[key] = value
        return params

    def projects(self, params):
        projects = list(self.get_option('projects') or [])
        if not projects and params.get('project'):
            projects = [params['project']]
        if not projects:
            raise AnsibleParserError('openclaw.gcp.compute: no project to read: set projects (or project, or GCP_PROJECT).')
        return projects

    # -- reading --------------------------------------------------------------------------------

    def fetch(self, params):
        """Every matching instance of every project: one aggregatedList per project (and page)."""
        expr = build_filter(self.get_option('labels'), self.get_option('status'), self.get_option('filters'))
        zones = set(self.get_option('zones') or [])
        instances = []
        projects = self.projects(params)
        # One client (one authorized session, one token exchange) for every project of the run.
        client = self.client_factory(dict(params, project=projects[0]), max_attempts=self.get_option('retries'),
                                     max_retry_seconds=self.get_option('retry_timeout'))
        for project in projects:
            before = client.stats.get('requests', 0)
            try:
                pairs = client.aggregated_list('instances', 'list instances', 'in project %s' % project,
                                               filter_expr=expr, project=project, page_size=500)
            except GcpError as exc:
                raise AnsibleParserError('openclaw.gcp.compute: %s' % exc.message)
            finally:
                self.request_count += client.stats.get('requests', 0) - before
            # the project name comes from this file (trusted as a template): as a host variable it is data
            untrusted = wrap_var(project)
            for scope, item in pairs:
                if zones and short_name(scope) not in zones:
                    continue
                instances.append(summarize_instance(untrusted, item))
        self.display.vvv('openclaw.gcp.compute: %d instances from %d requests (%d retried), filter %s'
                         % (len(instances), self.request_count, client.stats.get('retries', 0), expr))
        return instances

    # -- building the inventory -----------------------------------------------------------------

    def populate(self, instances):
        prefix = self.get_option('vars_prefix')
        preferences = self.get_option('hostnames')
        mode = self.get_option('ansible_host')
        strict = self.get_option('strict')
        compose = self.get_option('compose')
        groups = self.get_option('groups')
        keyed_groups = self.get_option('keyed_groups')
        names = {}
        taken = {}
        for instance in instances:
            hostname = pick_hostname(instance, preferences)
            if not hostname:
                self.display.warning('openclaw.gcp.compute: instance %s in %s has no value for hostnames %s; skipped.'
                                     % (instance.get('name'), instance.get('zone'), preferences))
                continue
            if hostname in taken:
                unique = '%s.%s.%s' % (instance['name'], instance['zone'], instance['project'])
                self.display.warning('openclaw.gcp.compute: host name %s is already used by %s; naming instance %s in %s/%s %s.'
                                     % (hostname, taken[hostname], instance['name'], instance['project'],
                                        instance['zone'], unique))
                hostname = unique
            taken[hostname] = '%s/%s/%s' % (instance['project'], instance['zone'], instance['name'])

            hostname = self.inventory.add_host(wrap_var(hostname))
            # Values decoded from the API's JSON (or the cache's) carry no template trust: ansible-core
            # (>= 2.19, see meta/runtime.yml) never templates them and lists them as unsafe.
            hostvars = {}
            for key, value in instance.items():
                name = names.get(key)
                if name is None:
                    name = names[key] = prefix + key
                hostvars[name] = value
            hostvars.update(connection_vars(instance, mode))
            self.set_host_variables(hostname, hostvars)

            if compose:
                self._set_composite_vars(compose, hostvars, hostname, strict=strict)
            if groups:
                self._add_host_to_composed_groups(groups, hostvars, hostname, strict=strict)
            if keyed_groups:
                self._add_host_to_keyed_groups(keyed_groups, hostvars, hostname, strict=strict)

    def set_host_variables(self, hostname, hostvars):
        """Every host variable at once (what ``set_variable`` per key does for a new host, in one step)."""
        host = self.inventory.hosts[hostname]
        if any(key in host.vars for key in hostvars) or not self._valid_names(hostvars):
            # the host came from another source too, or a name needs set_variable's checks and merging
            for key, value in hostvars.items():
                self.inventory.set_variable(hostname, key, value)
        else:
            host.vars.update(hostvars)

    def _valid_names(self, hostvars):
        valid = self.__dict__.setdefault('_checked_names', set())
        for key in hostvars:
            if key not in valid:
                if not isinstance(key, str) or not _VAR_NAME_RE.match(key) or key in _RESERVED_NAMES:
                    return False
                valid.add(key)
        return True

    def _compose(self, template, variables, disable_lookups=...):
        """A bare variable name (``key: gce_zone``) is looked up, not compiled and evaluated for every
        host (the same value, at a fraction of the cost); anything else goes to Ansible's templating."""
        if (isinstance(template, str) and _VAR_NAME_RE.match(template) and template in variables
                and template not in _RESERVED_NAMES and not self._extra_var(template)):
            host_value = variables[template]
            if isinstance(host_value, _PLAIN_TYPES) and not _trusted(host_value):
                return copy.deepcopy(host_value) if isinstance(host_value, (list, dict)) else host_value
        if disable_lookups is ...:
            return super(InventoryModule, self)._compose(template, variables)
        return super(InventoryModule, self)._compose(template, variables, disable_lookups=disable_lookups)

    def _extra_var(self, name):
        try:
            use_extra = self.get_option('use_extra_vars')
        except Exception:  # pylint: disable=broad-except
            use_extra = False
        return bool(use_extra) and name in (getattr(self, '_vars', None) or {})

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)

        cache_key = self.get_cache_key(path)
        use_cache = self.get_option('cache')
        instances = None
        update_cache = False
        if use_cache and cache:
            try:
                instances = self._cache[cache_key]
            except KeyError:
                update_cache = True
        elif use_cache:
            # refresh requested (e.g. meta: refresh_inventory): read the API, then store
            update_cache = True

        if instances is None:
            try:
                instances = self.fetch(self.client_params())
            except (AnsibleParserError, AnsibleError):
                raise
            except Exception as exc:
                raise AnsibleParserError('openclaw.gcp.compute: reading %s failed: %s' % (path, to_native(exc)))

        if update_cache:
            self._cache[cache_key] = instances

        self.populate(instances)
