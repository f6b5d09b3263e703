# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compute_firewall: order-insensitive comparison, PATCH of changed fields only, check/diff."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.openclaw.gcp.plugins.modules import compute_firewall as fw

RULE = {'name': 'allow-ssh', 'source_ranges': ['35.235.240.0/20', '10.0.0.0/8'], 'target_tags': ['openclaw-ssh']}


def test_normalize_allowed_is_order_insensitive():
    a = fw.normalize_allowed([{'IPProtocol': 'TCP', 'ports': ['443', '22']}, {'IPProtocol': 'icmp'}])
    b = fw.normalize_allowed([{'protocol': 'icmp', 'ports': None}, {'protocol': 'tcp', 'ports': ['22', '443', '22']}])
    assert a == b == [{'protocol': 'icmp', 'ports': []}, {'protocol': 'tcp', 'ports': ['22', '443']}]


def test_to_body_full_and_patch():
    desired = {'name': 'r', 'network': 'default', 'direction': 'INGRESS', 'priority': 1000,
               'allowed': [{'protocol': 'tcp', 'ports': ['22']}, {'protocol': 'icmp', 'ports': []}], 'source_ranges': ['0.0.0.0/0'],
               'destination_ranges': [], 'target_tags': [], 'description': '', 'disabled': False}
    body = fw.to_body(desired, 'p')
    assert body['network'] == 'projects/p/global/networks/default'
    assert body['allowed'] == [{'IPProtocol': 'tcp', 'ports': ['22']}, {'IPProtocol': 'icmp'}]
    assert 'targetTags' not in body and 'destinationRanges' not in body
    assert fw.to_body(desired, 'p', ['target_tags', 'priority']) == {'targetTags': [], 'priority': 1000}


@pytest.mark.parametrize('change, fragment', [
    ({'name': 'Allow_SSH'}, "Firewall rule name 'Allow_SSH' is invalid"),
    ({'priority': 70000}, 'priority must be between 0 and 65535'),
    ({'allowed': [{'protocol': 'tcpp', 'ports': None}]}, "allowed protocol 'tcpp'"),
    ({'allowed': [{'protocol': 'tcp', 'ports': ['22-x']}]}, "port '22-x' is not a port"),
    ({'allowed': [{'protocol': 'icmp', 'ports': ['22']}]}, 'ports are only allowed with tcp'),
    ({'source_ranges': ['10.0.0.0/33']}, "source_ranges entry '10.0.0.0/33'"),
    ({'target_tags': ['Bad']}, "Target tag 'Bad' is invalid"),
    ({'destination_ranges': ['10.0.0.0/8']}, 'destination_ranges only apply to EGRESS rules'),
])
def test_validate(change, fragment):
    params = {'name': 'allow-ssh', 'priority': 1000, 'allowed': [{'protocol': 'tcp', 'ports': ['22']}], 'source_ranges': None,
              'destination_ranges': None, 'target_tags': None, 'state': 'present', 'direction': 'INGRESS'}
    params.update(change)
    assert any(fragment in e for e in fw.validate(params))


def test_check_apply_check_apply(google, run):
    first = run(fw, RULE, check=True, diff=True)
    assert first['changed'] is True and first['actions'] == ['create'] and google.writes() == []
    assert first['diff']['before'] == {'state': 'absent'}
    assert first['firewall']['allowed'] == [{'protocol': 'tcp', 'ports': ['22']}]
    assert run(fw, RULE)['changed'] is True
    assert len(google.writes()) == 1
    del google.calls[:]
    reordered = dict(RULE, source_ranges=list(reversed(RULE['source_ranges'])))
    assert run(fw, reordered, check=True)['changed'] is False
    assert run(fw, reordered)['changed'] is False
    assert [c[0] for c in google.calls] == ['GET', 'GET']


def test_update_patches_only_changed_fields(google, run):
    run(fw, RULE)
    del google.calls[:]
    result = run(fw, dict(RULE, target_tags=[], priority=900), diff=True)
    assert result['changed'] is True and result['actions'] == ['update priority, target_tags']
    patch = [c for c in google.calls if c[0] == 'PATCH']
    assert len(patch) == 1 and patch[0][3] == {'priority': 900, 'targetTags': []}
    assert result['diff']['before']['target_tags'] == ['openclaw-ssh'] and result['diff']['after']['target_tags'] == []


def test_network_cannot_move(google, run):
    run(fw, RULE)
    del google.calls[:]
    result = run(fw, dict(RULE, network='other'))
    assert result['failed'] is True and 'delete the rule first' in result['msg']
    assert google.writes() == []


def test_ingress_rule_needs_source_ranges(google, run):
    result = run(fw, {'name': 'no-source'})
    assert result['failed'] is True and 'needs source_ranges' in result['msg']
    assert google.writes() == []


def test_delete_with_lost_response(google, run):
    run(fw, RULE)
    google.inject('lost', 'DELETE')
    result = run(fw, {'name': 'allow-ssh', 'state': 'absent'})
    assert result['changed'] is True and google.firewalls == {}
    assert len([c for c in google.calls if c[0] == 'DELETE']) == 1
    assert run(fw, {'name': 'allow-ssh', 'state': 'absent'})['changed'] is False


def test_unset_lists_are_left_alone(google, run):
    run(fw, dict(RULE, description='ssh from IAP'))
    del google.calls[:]
    result = run(fw, {'name': 'allow-ssh'}, check=True)
    assert result['changed'] is False and result['firewall']['source_ranges'] == ['10.0.0.0/8', '35.235.240.0/20']
    assert result['firewall']['description'] == 'ssh from IAP'
    assert google.writes() == []
