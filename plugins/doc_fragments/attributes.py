# -*- coding: utf-8 -*-
# Copyright: contributors to openclaw.gcp
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The ``attributes`` of the openclaw.gcp modules, written once.

    ``openclaw.gcp.attributes`` (the action group) goes with ``openclaw.gcp.attributes.read_only``
    for modules that never write, or ``openclaw.gcp.attributes.managed`` for modules that
    reconcile a resource.
    """

    DOCUMENTATION = r'''
attributes:
  action_group:
    description: Use C(group/openclaw.gcp.gcp) in C(module_defaults) to set the shared options.
    support: full
    membership:
      - openclaw.gcp.gcp
'''

    READ_ONLY = r'''
attributes:
  check_mode:
    description: Runs normally in check mode (it only reads).
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: N/A
  idempotent:
    description: Only reads.
    support: full
'''

    MANAGED = r'''
attributes:
  check_mode:
    description: Predicts exactly what a real run would do, including failures, with read requests only.
    support: full
  diff_mode:
    description: Returns the managed properties before and after.
    support: full
  idempotent:
    description: A second run with the same options reports no change and sends no write.
    support: full
'''
