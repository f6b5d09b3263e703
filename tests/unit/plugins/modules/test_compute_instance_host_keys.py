# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.openclaw.gcp.plugins.modules import compute_instance_host_keys as hk

ED = 'AAAAC3NzaC1lZDI1NTE5AAAAIG9wZW5jbGF3LWdhdGV3YXktaG9zdC1rZXk='


def answer(*items):
    return {'kind': 'compute#guestAttributes', 'queryPath': 'hostkeys/',
            'queryValue': {'items': [dict(namespace=n, key=k, value=v) for n, k, v in items]}}


def test_parse_host_keys_takes_bare_and_typed_values_and_skips_the_rest():
    keys = hk.parse_host_keys(answer(('hostkeys', 'ssh-ed25519', ED),
                                     ('hostkeys', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp256 AAAAE2VjZHNh'),
                                     ('hostkeys', 'ssh-rsa', 'not base64 !'),
                                     ('other', 'ssh-rsa', 'AAAAB3Nza'),
                                     ('hostkeys', 'evil type', 'AAAA')))
    assert keys == [{'type': 'ecdsa-sha2-nistp256', 'key': 'AAAAE2VjZHNh'}, {'type': 'ssh-ed25519', 'key': ED}]
    assert hk.parse_host_keys(None) == [] and hk.parse_host_keys({}) == []


def test_guest_attributes_instance_value_wins_over_the_project():
    assert hk.guest_attributes_enabled({'enable-guest-attributes': 'TRUE'}, {}) is True
    assert hk.guest_attributes_enabled({'enable-guest-attributes': 'false'}, {'enable-guest-attributes': 'TRUE'}) is False
    assert hk.guest_attributes_enabled({}, {'enable-guest-attributes': 'true'}) is True
    assert hk.guest_attributes_enabled({}, {}) is False


def test_missing_instance_and_disabled_attributes_are_named(google, run):
    result = run(hk, {'name': 'nope', 'zone': 'us-central1-a'})
    assert result['failed'] and 'Instance nope in zone us-central1-a (project demo) does not exist' in result['msg']
    inst = google.add_instance('vm1')
    inst['metadata'] = {'fingerprint': 'f', 'items': [{'key': 'enable-guest-attributes', 'value': 'FALSE'}]}
    result = run(hk, {'name': 'vm1', 'zone': 'us-central1-a'})
    assert result['failed'] and 'Guest attributes are off for instance vm1' in result['msg']
    assert 'enable-guest-attributes: "TRUE"' in result['msg']


def test_bad_options_fail_before_any_request(google, run):
    result = run(hk, {'name': 'Bad_Name', 'zone': 'nowhere', 'timeout': 0})
    assert result['failed'] and google.calls == []
    assert 'RFC 1035' in result['msg'] and "Zone 'nowhere'" in result['msg'] and 'timeout must be a positive' in result['msg']
