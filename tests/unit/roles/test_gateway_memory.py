# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway role's memory cap, on the controller only (connection local, nothing deployed).

gateway_memory_limit auto leaves a quarter of the host's memory (at least 256 MiB, at most
1 GiB) to the OS, Docker and sshd; a size given is used as it is; "" and an unknown host memory
(0) mean no cap. Bad values are refused by tasks_from validate with the setting's name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from local_play import run_play

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: openclaw.gcp.gateway
        tasks_from: validate
        public: true
    - ansible.builtin.set_fact:
        caps: "{{ caps | default([]) + [gateway_memory_cap or ''] }}"
      loop: "{{ cases }}"
      vars:
        gateway_host_memory_mb: "{{ item.mb }}"
        gateway_memory_limit: "{{ item.limit }}"
    - ansible.builtin.copy:
        content: "{{ caps | to_json }}"
        dest: "{{ out }}/caps.json"
        mode: "0600"
"""

CASES = [
    (1024, 'auto', '832m'),     # e2-micro: the gateway's floor, 192 MiB kept
    (2048, 'auto', '1536m'),    # e2-small, the guide's
    (4096, 'auto', '3072m'),    # e2-medium
    (16384, 'auto', '15360m'),  # e2-standard-4: at most 1 GiB kept
    (1280, 'auto', '960m'),     # a quarter (320 MiB) leaves more than the floor
    (1088, 'auto', '832m'),     # a quarter (272 MiB) would leave 816m: 256 MiB kept
    (768, 'auto', '576m'),      # below the floor: at least 192 MiB kept
    (0, 'auto', ''),            # unknown: no cap
    (2048, '1G', '1g'),
    (2048, '', ''),
]


def test_auto_keeps_a_quarter_for_the_os_unless_the_gateway_gets_under_its_floor(tmp_path):
    cases = [{'mb': case[0], 'limit': case[1]} for case in CASES]
    proc = run_play(tmp_path, PLAY, {'cases': cases, 'out': str(tmp_path)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((tmp_path / 'caps.json').read_text()) == [case[2] for case in CASES]


def test_bad_values_are_named(tmp_path):
    proc = run_play(tmp_path, PLAY, {'cases': [], 'out': str(tmp_path), 'gateway_memory_limit': 'lots',
                                     'gateway_host_memory_mb': '2GB'})
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert 'gateway_memory_limit must be auto, empty or a size such as 1536m or 1g (got lots)' in out
    assert 'gateway_host_memory_mb must be a whole number of MiB (got 2GB)' in out
    assert not (tmp_path / 'caps.json').exists()
