# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the openclaw.gcp.compute inventory plugin: no network, a fake client."""

from __future__ import annotations

import textwrap

import pytest

import yaml

from ansible import constants as C
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.doc_fragments.constructed import ModuleDocFragment as ConstructedFragment
from ansible.plugins.doc_fragments.inventory_cache import ModuleDocFragment as CacheFragment
from ansible.template import Templar

from ansible_collections.openclaw.gcp.plugins.doc_fragments.gcp import ModuleDocFragment as GcpFragment
from ansible_collections.openclaw.gcp.plugins.module_utils.gcp import GcpError
from ansible_collections.openclaw.gcp.plugins.inventory import compute
from ansible_collections.openclaw.gcp.plugins.inventory.compute import (
    build_filter,
    connection_vars,
    pick_hostname,
    summarize_instance,
)
from fake_gcp import OVERRIDE_VARS

GOOGLE = 'https://www.googleapis.com/compute/v1/'


def api_instance(name, zone='us-central1-a', status='RUNNING', labels=None, nat_ip='34.1.2.3',
                 internal='10.128.0.2', machine_type='e2-small', project='openclaw-demo'):
    nic = {'network': GOOGLE + 'projects/%s/global/networks/default' % project, 'networkIP': internal,
           'accessConfigs': [{'type': 'ONE_TO_ONE_NAT', 'natIP': nat_ip}] if nat_ip else []}
    return {
        'kind': 'compute#instance', 'id': '123%d' % len(name), 'name': name, 'status': status,
        'zone': GOOGLE + 'projects/%s/zones/%s' % (project, zone),
        'machineType': GOOGLE + 'projects/%s/zones/%s/machineTypes/%s' % (project, zone, machine_type),
        'labels': {'openclaw-role': 'gateway'} if labels is None else labels,
        'tags': {'items': ['openclaw-gateway']},
        'networkInterfaces': [nic],
        'metadata': {'items': [{'key': 'ssh-keys', 'value': 'openclaw:ssh-ed25519 AAAA op'}]},
        'serviceAccounts': [{'email': 'openclaw-gateway@%s.iam.gserviceaccount.com' % project}],
        'selfLink': GOOGLE + 'projects/%s/zones/%s/instances/%s' % (project, zone, name),
        'creationTimestamp': '2026-11-22T04:00:00.000-07:00',
    }


class FakeClient:
    """Stands in for GcpClient: answers aggregated_list from a dict of project -> instances."""

    calls = []
    data = {}
    errors = []          # an exception here is raised by the next aggregated_list

    instances = 0

    def __init__(self, params, max_attempts=8, max_retry_seconds=120.0):
        FakeClient.instances += 1
        self.params = params
        self.max_attempts = max_attempts
        self.stats = {'requests': 0, 'retries': 0, 'writes': 0}

    def aggregated_list(self, collection, action, resource, filter_expr=None, project=None, page_size=500):
        FakeClient.calls.append({'collection': collection, 'project': project, 'filter': filter_expr,
                                 'page_size': page_size, 'params': self.params, 'max_attempts': self.max_attempts})
        self.stats['requests'] += 1
        if FakeClient.errors:
            raise FakeClient.errors.pop(0)
        return [('zones/' + i['zone'].rsplit('/', 1)[-1], i) for i in FakeClient.data.get(project, [])]


@pytest.fixture(autouse=True)
def _reset_fake(monkeypatch):
    FakeClient.calls = []
    FakeClient.instances = 0
    FakeClient.data = {}
    FakeClient.errors = []
    for name in ('GCP_PROJECT', 'GCP_AUTH_KIND', 'GCP_SERVICE_ACCOUNT_FILE', 'GCP_SERVICE_ACCOUNT_CONTENTS',
                 'GCP_ACCESS_TOKEN', 'GCP_SCOPES', 'GOOGLE_CLOUD_UNIVERSE_DOMAIN', 'CLOUDSDK_CORE_UNIVERSE_DOMAIN') + OVERRIDE_VARS:
        monkeypatch.delenv(name, raising=False)


def option_definitions():
    """The plugin's options as Ansible's plugin loader assembles them (own + doc fragments).

    Built here from the same documentation strings, so these tests do not depend on how (or
    whether) the collection loader was initialised by other tests in the session.
    """
    options = {}
    for doc in (GcpFragment.DOCUMENTATION, ConstructedFragment.DOCUMENTATION, CacheFragment.DOCUMENTATION,
                compute.DOCUMENTATION):
        options.update(yaml.safe_load(doc)['options'])
    return options


def new_plugin():
    plugin = compute.InventoryModule()
    plugin._load_name = 'openclaw.gcp.compute'
    plugin._redirected_names = ['openclaw.gcp.compute']
    C.config.initialize_plugin_configuration_definitions('inventory', plugin._load_name, option_definitions())
    return plugin


def run_inventory(tmp_path, config, cache=True, plugin=None):
    path = tmp_path / 'test.compute.yml'
    path.write_text(textwrap.dedent(config))
    plugin = plugin or new_plugin()
    plugin.client_factory = FakeClient
    inventory = InventoryData()
    loader = DataLoader()
    plugin.templar = Templar(loader=loader)
    assert plugin.verify_file(str(path))
    plugin.parse(inventory, loader, str(path), cache=cache)
    if plugin.get_option('cache'):
        plugin.update_cache_if_changed()   # what Ansible's InventoryManager does after parse()
    return plugin, inventory


BASE = '''
plugin: openclaw.gcp.compute
projects: [openclaw-demo]
access_token: test-token
api_endpoint_overrides:
  compute: http://127.0.0.1:1/compute/v1/
'''


# -- pure functions -----------------------------------------------------------------------------

def test_build_filter_labels_status_and_extra():
    assert build_filter({}, [], []) is None
    assert build_filter({'openclaw-role': 'gateway'}) == '(labels.openclaw-role = "gateway")'
    assert build_filter({'b': '2', 'a': '1'}, ['RUNNING']) == '(labels.a = "1") AND (labels.b = "2") AND (status = "RUNNING")'
    assert build_filter(None, ['RUNNING', 'TERMINATED'], ['cpuPlatform = "x"']) == \
        '((status = "RUNNING") OR (status = "TERMINATED")) AND (cpuPlatform = "x")'
    # quotes in a value cannot break out of the string literal
    assert build_filter({'k': 'a"b'}) == '(labels.k = "a\\"b")'


def test_summarize_instance_short_names_addresses_and_no_metadata():
    item = api_instance('gw-1', zone='europe-west1-b', machine_type='e2-medium')
    out = summarize_instance('openclaw-demo', item)
    assert out['zone'] == 'europe-west1-b'
    assert out['region'] == 'europe-west1'
    assert out['machine_type'] == 'e2-medium'
    assert out['external_ip'] == '34.1.2.3'
    assert out['internal_ip'] == '10.128.0.2'
    assert out['network'] == 'default'
    assert out['tags'] == ['openclaw-gateway']
    assert out['self_link'] == 'projects/openclaw-demo/zones/europe-west1-b/instances/gw-1'
    assert out['service_accounts'] == ['openclaw-gateway@openclaw-demo.iam.gserviceaccount.com']
    assert 'metadata' not in out and 'ssh-keys' not in repr(out)


def test_summarize_instance_without_external_address():
    out = summarize_instance('p', api_instance('gw', nat_ip=None))
    assert out['external_ip'] is None
    assert connection_vars(out, 'public_ip') == {'ansible_host': '10.128.0.2'}


def test_pick_hostname_preferences():
    inst = summarize_instance('p', api_instance('gw', labels={'env': 'prod'}, nat_ip=None))
    assert pick_hostname(inst, ['public_ip', 'name']) == 'gw'
    assert pick_hostname(inst, ['label:env', 'name']) == 'prod'
    assert pick_hostname(inst, ['label:missing', 'private_ip']) == '10.128.0.2'
    assert pick_hostname(inst, ['public_ip']) is None
    with pytest.raises(Exception, match='unknown entry'):
        pick_hostname(inst, ['fqdn'])


def test_connection_vars_modes():
    inst = summarize_instance('proj-1', api_instance('gw'))
    assert connection_vars(inst, 'public_ip') == {'ansible_host': '34.1.2.3'}
    assert connection_vars(inst, 'private_ip') == {'ansible_host': '10.128.0.2'}
    assert connection_vars(inst, 'none') == {}
    iap = connection_vars(inst, 'iap')
    assert iap['ansible_host'] == 'gw'
    assert 'gcloud compute start-iap-tunnel gw 22 --listen-on-stdin --project=proj-1 --zone=us-central1-a' in \
        iap['ansible_ssh_common_args']


# -- the plugin -----------------------------------------------------------------------------------

def test_one_request_per_project_with_server_side_filter(tmp_path):
    FakeClient.data = {'openclaw-demo': [api_instance('gw-a'), api_instance('gw-b', zone='europe-west1-b')],
                       'other-proj': [api_instance('gw-c', project='other-proj')]}
    plugin, inv = run_inventory(tmp_path, '''
        plugin: openclaw.gcp.compute
        projects: [openclaw-demo, other-proj]
        access_token: test-token
        status: [RUNNING]
        retries: 3
    ''')
    assert [c['project'] for c in FakeClient.calls] == ['openclaw-demo', 'other-proj']
    assert all(c['collection'] == 'instances' and c['page_size'] == 500 for c in FakeClient.calls)
    assert FakeClient.calls[0]['filter'] == '(labels.openclaw-role = "gateway") AND (status = "RUNNING")'
    assert FakeClient.calls[0]['max_attempts'] == 3
    assert FakeClient.calls[0]['params']['access_token'] == 'test-token'
    assert plugin.request_count == 2
    assert FakeClient.instances == 1      # one client (one session, one token) for both projects
    assert sorted(inv.hosts) == ['gw-a', 'gw-b', 'gw-c']


def test_host_vars_are_prefixed_and_unsafe(tmp_path):
    FakeClient.data = {'openclaw-demo': [api_instance('gw-a', labels={'openclaw-role': 'gateway', 'x': '{{ lookup("pipe", "id") }}'})]}
    dummy, inv = run_inventory(tmp_path, BASE)
    hv = inv.get_host('gw-a').get_vars()
    assert hv['ansible_host'] == '34.1.2.3'
    assert hv['gce_zone'] == 'us-central1-a'
    assert hv['gce_region'] == 'us-central1'
    assert hv['gce_machine_type'] == 'e2-small'
    assert hv['gce_status'] == 'RUNNING'
    assert hv['gce_project'] == 'openclaw-demo'
    # a template hidden in a label value must never be evaluated
    templar = Templar(loader=DataLoader(), variables=hv)
    assert templar.template(hv['gce_labels']['x']) == '{{ lookup("pipe", "id") }}'


def test_zones_are_filtered_from_the_single_answer(tmp_path):
    FakeClient.data = {'openclaw-demo': [api_instance('gw-a'), api_instance('gw-b', zone='europe-west1-b')]}
    dummy, inv = run_inventory(tmp_path, BASE + 'zones: [europe-west1-b]\n')
    assert list(inv.hosts) == ['gw-b']
    assert len(FakeClient.calls) == 1


def test_keyed_groups_and_groups(tmp_path):
    FakeClient.data = {'openclaw-demo': [api_instance('gw-a'), api_instance('gw-b', status='TERMINATED', zone='europe-west1-b')]}
    dummy, inv = run_inventory(tmp_path, BASE + textwrap.dedent('''
        groups:
          openclaw_gateways: "true"
          big: gce_machine_type == 'e2-medium'
        keyed_groups:
          - key: gce_zone
            prefix: zone
          - key: gce_status | lower
            prefix: status
        compose:
          ansible_user: "'openclaw'"
    '''))
    groups = inv.groups
    assert sorted(h.name for h in groups['openclaw_gateways'].get_hosts()) == ['gw-a', 'gw-b']
    assert [h.name for h in groups['zone_us_central1_a'].get_hosts()] == ['gw-a']
    assert [h.name for h in groups['zone_europe_west1_b'].get_hosts()] == ['gw-b']
    assert [h.name for h in groups['status_running'].get_hosts()] == ['gw-a']
    assert [h.name for h in groups['status_terminated'].get_hosts()] == ['gw-b']
    assert 'big' not in groups or not groups['big'].get_hosts()
    assert inv.get_host('gw-a').get_vars()['ansible_user'] == 'openclaw'


def test_duplicate_names_across_projects_get_unique_names(tmp_path):
    FakeClient.data = {'p-one1': [api_instance('gw', project='p-one1')],
                       'p-two2': [api_instance('gw', project='p-two2', zone='europe-west1-b')]}
    dummy, inv = run_inventory(tmp_path, '''
        plugin: openclaw.gcp.compute
        projects: [p-one1, p-two2]
        access_token: t
    ''')
    assert sorted(inv.hosts) == ['gw', 'gw.europe-west1-b.p-two2']


def test_hostnames_label_and_ansible_host_private(tmp_path):
    FakeClient.data = {'openclaw-demo': [api_instance('gw-a', labels={'openclaw-role': 'gateway', 'alias': 'front'})]}
    dummy, inv = run_inventory(tmp_path, BASE + 'hostnames: ["label:alias", name]\nansible_host: private_ip\n')
    assert list(inv.hosts) == ['front']
    assert inv.get_host('front').get_vars()['ansible_host'] == '10.128.0.2'


def test_project_from_environment_and_auth_env_fallback(tmp_path, monkeypatch):
    monkeypatch.setenv('GCP_PROJECT', 'env-project')
    monkeypatch.setenv('GCP_AUTH_KIND', 'serviceaccount')
    monkeypatch.setenv('GCP_SERVICE_ACCOUNT_FILE', '/nonexistent/key.json')
    monkeypatch.setenv('GOOGLE_CLOUD_UNIVERSE_DOMAIN', 'example-universe.net')
    monkeypatch.setenv('GCP_SCOPES', 'a,b')
    run_inventory(tmp_path, 'plugin: openclaw.gcp.compute\n')
    call = FakeClient.calls[0]
    assert call['project'] == 'env-project'
    assert call['params']['auth_kind'] == 'serviceaccount'
    assert call['params']['service_account_file'] == '/nonexistent/key.json'
    assert call['params']['universe_domain'] == 'example-universe.net'
    assert call['params']['scopes'] == ['a', 'b']


def test_no_project_fails_before_any_request(tmp_path):
    with pytest.raises(AnsibleParserError, match='no project to read'):
        run_inventory(tmp_path, 'plugin: openclaw.gcp.compute\naccess_token: t\n')
    assert FakeClient.calls == []


def test_endpoint_overrides_are_passed_to_the_client(tmp_path):
    run_inventory(tmp_path, BASE)
    assert FakeClient.calls[0]['params']['api_endpoint_overrides'] == {'compute': 'http://127.0.0.1:1/compute/v1/'}


def test_api_error_becomes_one_parser_error(tmp_path):
    FakeClient.errors = [GcpError('Failed to list instances in project openclaw-demo: HTTP 403 forbidden: Compute API disabled.')]
    with pytest.raises(AnsibleParserError, match='HTTP 403 forbidden: Compute API disabled'):
        run_inventory(tmp_path, BASE)


def test_wrong_file_name_is_not_ours(tmp_path):
    plugin = new_plugin()
    path = tmp_path / 'hosts.yml'
    path.write_text(BASE)
    assert not plugin.verify_file(str(path))


def test_cache_is_used_and_refresh_reads_again(tmp_path):
    FakeClient.data = {'openclaw-demo': [api_instance('gw-a')]}
    config = BASE + 'cache: true\ncache_plugin: jsonfile\ncache_connection: %s\n' % (tmp_path / 'cache')
    run_inventory(tmp_path, config)
    assert len(FakeClient.calls) == 1
    # a new run (new plugin object) with the cache: no request, same hosts
    FakeClient.data = {'openclaw-demo': [api_instance('gw-a'), api_instance('gw-b')]}
    plugin, inv = run_inventory(tmp_path, config)
    assert len(FakeClient.calls) == 1
    assert list(inv.hosts) == ['gw-a']
    # meta: refresh_inventory parses with cache=False: read the API again and store the answer
    plugin, inv = run_inventory(tmp_path, config, cache=False)
    assert len(FakeClient.calls) == 2
    assert sorted(inv.hosts) == ['gw-a', 'gw-b']
    plugin, inv = run_inventory(tmp_path, config)
    assert len(FakeClient.calls) == 2
    assert sorted(inv.hosts) == ['gw-a', 'gw-b']


def test_without_cache_every_parse_reads(tmp_path):
    FakeClient.data = {'openclaw-demo': [api_instance('gw-a')]}
    run_inventory(tmp_path, BASE)
    run_inventory(tmp_path, BASE)
    assert len(FakeClient.calls) == 2


# -- the fast paths give what Ansible's own templating gives ----------------------------------------

FAST = BASE + textwrap.dedent('''
    keyed_groups:
      - key: gce_zone
        prefix: zone
      - key: gce_labels
        prefix: label
      - key: gce_tags
        prefix: tag
      - key: gce_status | lower
        prefix: status
      - key: gce_nothing_here
        prefix: never
        default_value: none
    groups:
      running: gce_status == 'RUNNING'
    compose:
      zone_copy: gce_zone
      region_upper: gce_region | upper
''')


def _snapshot(inv):
    groups = dict((name, sorted(h.name for h in group.get_hosts())) for name, group in inv.groups.items())
    hostvars = dict((name, host.get_vars()) for name, host in inv.hosts.items())
    return groups, hostvars


def test_fast_paths_match_ansible_templating(tmp_path, monkeypatch):
    from ansible.plugins.inventory import Constructable  # pylint: disable=import-outside-toplevel
    FakeClient.data = {'openclaw-demo': [
        api_instance('gw-a', labels={'openclaw-role': 'gateway', 'env': 'prod'}),
        api_instance('gw-b', zone='europe-west1-b', status='TERMINATED', labels={'openclaw-role': 'gateway'})]}
    FakeClient.data['openclaw-demo'][0]['tags'] = {'items': ['ssh', 'web']}
    dummy, fast = run_inventory(tmp_path, FAST)
    # the same with every key evaluated by Ansible's templating and every variable set one by one
    monkeypatch.setattr(compute.InventoryModule, '_compose', Constructable._compose)
    monkeypatch.setattr(compute.InventoryModule, 'set_host_variables',
                        lambda self, name, hv: [self.inventory.set_variable(name, k, v) for k, v in hv.items()])
    dummy, slow = run_inventory(tmp_path, FAST)
    assert _snapshot(fast) == _snapshot(slow)
    groups, hostvars = _snapshot(fast)
    assert groups['zone_us_central1_a'] == ['gw-a'] and groups['label_env_prod'] == ['gw-a']
    assert groups['tag_web'] == ['gw-a'] and groups['status_terminated'] == ['gw-b'] and groups['running'] == ['gw-a']
    assert hostvars['gw-a']['zone_copy'] == 'us-central1-a' and hostvars['gw-b']['region_upper'] == 'EUROPE-WEST1'


def test_a_host_known_from_another_source_keeps_its_variables(tmp_path):
    FakeClient.data = {'openclaw-demo': [api_instance('gw-a', labels={'openclaw-role': 'gateway'})]}
    plugin = new_plugin()
    path = tmp_path / 'test.compute.yml'
    path.write_text(BASE)
    plugin.client_factory = FakeClient
    inventory = InventoryData()
    inventory.add_host('gw-a')
    inventory.set_variable('gw-a', 'gce_labels', {'owner': 'ops'})
    inventory.set_variable('gw-a', 'site_var', 1)
    loader = DataLoader()
    plugin.templar = Templar(loader=loader)
    plugin.parse(inventory, loader, str(path))
    hv = inventory.get_host('gw-a').get_vars()
    # set one by one through set_variable, as before (DEFAULT_HASH_BEHAVIOUR replace: the API's labels win)
    assert hv['gce_labels'] == {'openclaw-role': 'gateway'} and hv['site_var'] == 1 and hv['gce_zone'] == 'us-central1-a'
