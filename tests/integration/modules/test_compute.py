# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""compute_instance against the emulator: resizing a running VM, faults and lost responses,
bad input rejected before any write, and an asynchronous quota failure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from gcp_playbooks import api_writes

PROJECT = 'openclaw-demo'
ZONE = 'us-central1-a'


def instance(name, **options):
    args = {'name': name, 'zone': ZONE}
    args.update(options)
    return args


def test_machine_type_change_of_a_running_instance(emulator, runner):
    created = dict(runner.play([{'name': 'create', 'openclaw.gcp.compute_instance': instance('gw-resize', machine_type='e2-micro')}]))
    assert created['create']['instance']['status'] == 'RUNNING'

    start = len(emulator.requests())
    refused = dict(runner.play([{'name': 'resize', 'ignore_errors': True,
                                 'openclaw.gcp.compute_instance': instance('gw-resize', machine_type='e2-small')}]))
    assert refused['resize']['failed'] is True
    assert refused['resize']['msg'] == (
        'Cannot change machine type to e2-small of instance gw-resize in zone us-central1-a (project openclaw-demo) while it is '
        'RUNNING: set allow_stopping_for_update: true to stop it, change it and start it again (no change was made).')
    assert api_writes(emulator.requests()[start:]) == []

    start = len(emulator.requests())
    tasks = [{'name': 'resize', 'openclaw.gcp.compute_instance': instance('gw-resize', machine_type='e2-small', allow_stopping_for_update=True)},
             {'name': 'again', 'openclaw.gcp.compute_instance': instance('gw-resize', machine_type='e2-small', allow_stopping_for_update=True)},
             {'name': 'read', 'openclaw.gcp.compute_instance_info': {'name': 'gw-resize', 'zone': ZONE}}]
    results = dict(runner.play(tasks, diff=True))
    resized = results['resize']
    assert resized['changed'] is True
    assert resized['actions'] == ['stop', 'set machine type e2-small', 'start']
    assert resized['instance']['machine_type'] == 'e2-small' and resized['instance']['status'] == 'RUNNING'
    assert results['again']['changed'] is False
    assert results['read']['instances'][0]['machine_type'] == 'e2-small'
    assert results['read']['instances'][0]['status'] == 'RUNNING'
    writes = [(e['method'], e['path'].rsplit('/', 1)[-1]) for e in api_writes(emulator.requests()[start:])]
    assert writes == [('POST', 'stop'), ('POST', 'setMachineType'), ('POST', 'start')]

    # a stopped instance changes type without being started
    stopped = dict(runner.play([
        {'name': 'stop', 'openclaw.gcp.compute_instance': instance('gw-resize', state='stopped')},
        {'name': 'resize stopped', 'openclaw.gcp.compute_instance': instance('gw-resize', state='stopped', machine_type='e2-medium')},
    ]))
    assert stopped['resize stopped']['actions'] == ['set machine type e2-medium']
    assert stopped['resize stopped']['instance']['status'] == 'TERMINATED'


def test_faults_and_lost_responses_do_not_fail_or_duplicate(emulator, runner):
    names = ['gw-fault-%d' % i for i in range(3)]
    emulator.set_faults(fault_rate=0.2, lost_rate=0.1, seed=20261122)
    tasks = [
        {'name': 'create', 'loop': names, 'openclaw.gcp.compute_instance': {
            'name': '{{ item }}', 'zone': ZONE, 'machine_type': 'e2-micro', 'labels': {'app': 'openclaw', 'drill': 'faults'}}},
        {'name': 'list after create', 'openclaw.gcp.compute_instance_info': {'labels': {'drill': 'faults'}}},
        {'name': 'update', 'loop': names, 'openclaw.gcp.compute_instance': {
            'name': '{{ item }}', 'zone': ZONE, 'machine_type': 'e2-small', 'allow_stopping_for_update': True,
            'labels': {'app': 'openclaw', 'drill': 'faults', 'size': 'small'}, 'metadata': {'note': 'resized'}}},
        {'name': 'list after update', 'openclaw.gcp.compute_instance_info': {
            'labels': {'drill': 'faults'}, 'show_metadata': ['note']}},
        {'name': 'delete', 'loop': names, 'openclaw.gcp.compute_instance': {'name': '{{ item }}', 'zone': ZONE, 'state': 'absent'}},
        {'name': 'list after delete', 'openclaw.gcp.compute_instance_info': {'labels': {'drill': 'faults'}}},
    ]
    results = dict(runner.play(tasks))
    stats = emulator.stats()['faults']
    emulator.set_faults(fault_rate=0.0, lost_rate=0.0)
    for name in ('create', 'update', 'delete'):
        items = results[name]['results']
        assert [r.get('failed', False) for r in items] == [False] * len(names), [r.get('msg') for r in items]
        assert [r['changed'] for r in items] == [True] * len(names)
    created = results['list after create']['instances']
    assert sorted(i['name'] for i in created) == names  # exactly one of each
    updated = results['list after update']['instances']
    assert sorted(i['name'] for i in updated) == names
    assert {i['machine_type'] for i in updated} == {'e2-small'}
    assert {i['status'] for i in updated} == {'RUNNING'}
    assert all(i['labels']['size'] == 'small' and i['metadata'] == {'note': 'resized'} for i in updated)
    # same instances, not recreated ones
    assert sorted(i['id'] for i in created) == sorted(i['id'] for i in updated)
    assert results['list after delete']['instances'] == []
    # the drill really injected both kinds of faults
    log = emulator.requests()
    assert stats['injected'] > 0 and stats['lost'] > 0, stats
    assert any(e['faulted'] == 'lost' for e in log) and any(e['faulted'] not in (None, 'lost') for e in log)


def test_bad_input_fails_before_any_write(emulator, runner, tmp_path):
    bad = [
        ('invalid name', {'openclaw.gcp.compute_instance': instance('Gateway_1')}, "Instance name 'Gateway_1' is invalid"),
        ('unknown zone', {'openclaw.gcp.compute_instance': {'name': 'gw-x', 'zone': 'mars-north1-a'}}, 'mars-north1-a'),
        ('unknown machine type', {'openclaw.gcp.compute_instance': instance('gw-x', machine_type='e2-gigantic')},
         'Machine type e2-gigantic does not exist in zone us-central1-a (project openclaw-demo): no write was made.'),
        ('unknown image', {'openclaw.gcp.compute_instance': instance('gw-x', image='projects/debian-cloud/global/images/family/debian-99')},
         'Image projects/debian-cloud/global/images/family/debian-99 does not exist or is not visible to project openclaw-demo'),
        ('bad labels', {'openclaw.gcp.compute_instance': instance('gw-x', labels={'Owner': 'Me', 'ok': 'x' * 70})},
         "label key 'Owner' is invalid"),
        ('missing project', {'openclaw.gcp.compute_instance': instance('gw-x'), 'environment': {'GCP_PROJECT': ''}},
         'No GCP project given: set the project option or the GCP_PROJECT environment variable.'),
        ('unreadable key file', {'openclaw.gcp.compute_instance': instance('gw-x', service_account_file=str(tmp_path / 'missing-key.json'))},
         'Cannot read service account key file %s: No such file or directory.' % (tmp_path / 'missing-key.json')),
        ('conflicting credentials', {'openclaw.gcp.compute_instance': instance('gw-x', service_account_contents='{}')},
         'service_account_file and service_account_contents are mutually exclusive'),
        ('conflicting options', {'openclaw.gcp.compute_instance': instance('gw-x', state='absent', deletion_protection=True)},
         'state=absent conflicts with deletion_protection=true'),
        ('bad firewall range', {'openclaw.gcp.compute_firewall': {'name': 'fw', 'source_ranges': ['300.1.1.0/24']}},
         "source_ranges entry '300.1.1.0/24' is not an IP range"),
        ('bad member', {'openclaw.gcp.project_iam_member': {'role': 'roles/viewer', 'member': 'alice@example.com'}},
         "member 'alice@example.com' must be user:EMAIL"),
        ('bad account id', {'openclaw.gcp.service_account': {'name': 'x'}}, "account id 'x' is invalid"),
        ('bad project id', {'openclaw.gcp.project': {'project_id': 'UPPER'}}, "project id 'UPPER' is invalid"),
    ]
    tasks = []
    for name, task, dummy in bad:
        task = dict(task, name=name, ignore_errors=True)
        tasks.append(task)
    start = len(emulator.requests())
    results = dict(runner.play(tasks))
    for name, dummy, message in bad:
        assert results[name].get('failed') is True, (name, results[name])
        assert message in results[name]['msg'], (name, results[name]['msg'])
    assert api_writes(emulator.requests()[start:]) == []


def test_quota_failure_surfaces_googles_message(emulator, runner):
    results = dict(runner.play([
        {'name': 'too big', 'ignore_errors': True, 'openclaw.gcp.compute_instance': instance('gw-big', machine_type='e2-standard-32')},
        {'name': 'read', 'openclaw.gcp.compute_instance_info': {'zone': ZONE, 'name': 'gw-big'}},
    ]))
    failed = results['too big']
    assert failed['failed'] is True
    assert failed['reason'] == 'QUOTA_EXCEEDED'
    assert failed['msg'].startswith('Failed to create instance gw-big in zone us-central1-a (project openclaw-demo): operation ')
    assert "ended with an error QUOTA_EXCEEDED: Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1." in failed['msg']
    assert results['read']['instances'] == []


def test_deletion_protection_tags_and_project_update(emulator, runner):
    tasks = [
        {'name': 'protected', 'openclaw.gcp.compute_instance': instance('gw-keep', deletion_protection=True, tags=['openclaw-ssh'])},
        {'name': 'retag', 'openclaw.gcp.compute_instance': instance('gw-keep', tags=['openclaw-ssh', 'web'])},
        {'name': 'refused', 'ignore_errors': True, 'openclaw.gcp.compute_instance': instance('gw-keep', state='absent')},
        {'name': 'predicted', 'check_mode': True, 'openclaw.gcp.compute_instance': instance('gw-keep', state='absent', deletion_protection=False)},
        {'name': 'deleted', 'openclaw.gcp.compute_instance': instance('gw-keep', state='absent', deletion_protection=False)},
        {'name': 'relabel project', 'openclaw.gcp.project': {'project_id': PROJECT, 'name': 'OpenClaw demo', 'labels': {'env': 'test'}}},
        {'name': 'relabel again', 'openclaw.gcp.project': {'project_id': PROJECT, 'name': 'OpenClaw demo', 'labels': {'env': 'test'}}},
    ]
    results = dict(runner.play(tasks))
    assert results['protected']['instance']['deletion_protection'] is True
    assert results['retag']['actions'] == ['set network tags'] and results['retag']['instance']['tags'] == ['openclaw-ssh', 'web']
    assert results['refused']['failed'] is True
    assert 'deletion protection is on; set deletion_protection: false' in results['refused']['msg']
    assert results['predicted']['changed'] is True
    assert results['predicted']['actions'] == ['set deletion protection to false', 'delete']
    assert results['deleted']['actions'] == ['set deletion protection to false', 'delete']
    assert results['relabel project']['changed'] is True
    assert results['relabel project']['project']['labels'] == {'env': 'test'}
    assert results['relabel again']['changed'] is False
    writes = [(e['method'], e['path'].rsplit('/', 1)[-1]) for e in api_writes(emulator.requests())]
    assert writes.count(('POST', 'setDeletionProtection')) == 1
    assert writes.count(('DELETE', 'gw-keep')) == 1


def test_shielded_vm_at_creation_and_changed_with_a_stop(emulator, runner):
    shielded = {'secure_boot': True, 'vtpm': True, 'integrity_monitoring': True}
    created = dict(runner.play([{'name': 'create', 'openclaw.gcp.compute_instance': instance(
        'gw-shielded', shielded_vm=shielded)}]))['create']
    assert created['instance']['shielded_vm'] == shielded
    # Google's defaults when nothing is asked for: secure boot off
    plain = dict(runner.play([{'name': 'create', 'openclaw.gcp.compute_instance': instance('gw-plain')}]))['create']
    assert plain['instance']['shielded_vm'] == {'secure_boot': False, 'vtpm': True, 'integrity_monitoring': True}

    start = len(emulator.requests())
    refused = dict(runner.play([{'name': 'harden', 'ignore_errors': True, 'openclaw.gcp.compute_instance': instance(
        'gw-plain', shielded_vm={'secure_boot': True})}]))['harden']
    assert refused['failed'] and 'Cannot change shielded vm' in refused['msg'] and 'allow_stopping_for_update' in refused['msg']
    assert api_writes(emulator.requests()[start:]) == []

    results = dict(runner.play([
        {'name': 'harden', 'openclaw.gcp.compute_instance': instance(
            'gw-plain', shielded_vm={'secure_boot': True}, allow_stopping_for_update=True)},
        {'name': 'again', 'openclaw.gcp.compute_instance': instance(
            'gw-plain', shielded_vm={'secure_boot': True}, allow_stopping_for_update=True)},
    ], diff=True))
    assert results['harden']['actions'] == [
        'stop', 'set shielded VM integrity_monitoring=true, secure_boot=true, vtpm=true', 'start']
    assert results['harden']['instance']['shielded_vm']['secure_boot'] is True
    assert results['harden']['instance']['status'] == 'RUNNING'
    assert results['again']['changed'] is False

    bad = dict(runner.play([{'name': 'bad', 'ignore_errors': True, 'openclaw.gcp.compute_instance': instance(
        'gw-plain', shielded_vm={'vtpm': False, 'integrity_monitoring': True})}]))['bad']
    assert bad['failed'] and 'integrity_monitoring needs vtpm' in bad['msg']
