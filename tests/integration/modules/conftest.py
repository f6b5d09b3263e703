# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the real modules through ansible-playbook against the emulator (memory backend).

Each test gets its own emulator process (started and stopped by PID through
``emulator.testing.Emulator``) and reads the emulator's request log to count writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
for _path in (ROOT, HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from emulator.testing import Emulator  # noqa: E402  pylint: disable=wrong-import-position
from gcp_playbooks import Runner  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture
def emulator(tmp_path):
    with Emulator(tmp_path / 'emulator', backend='memory') as emu:
        yield emu


@pytest.fixture
def runner(emulator, tmp_path):  # pylint: disable=redefined-outer-name
    work = tmp_path / 'work'
    work.mkdir()
    return Runner(emulator, str(work))
