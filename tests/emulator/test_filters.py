"""The Compute filter language, directly."""

import pytest

from emulator.errors import ApiError
from emulator.filters import compile_filter

ITEM = {"name": "gw-1", "status": "RUNNING", "labels": {"env": "prod", "openclaw-role": "gateway"},
        "tags": {"items": ["ssh", "web"]}, "scheduling": {"automaticRestart": True},
        "cpuPlatform": "Intel Broadwell", "guestCpus": 2}


@pytest.mark.parametrize("expr, expected", [
    ("", True),
    ("labels.env = prod", True),
    ('labels.env = "prod"', True),
    ("labels.env=staging", False),
    ('(labels.openclaw-role = "gateway") AND ((status = "RUNNING") OR (status = "STOPPING"))',
     True),
    ("(labels.env = prod) (status = TERMINATED)", False),
    ("status = TERMINATED OR labels.env = prod", True),
    ("NOT status = RUNNING", False),
    ("labels.owner:*", False),
    ("labels.env:*", True),
    ("cpuPlatform : Broad", True),
    ('cpuPlatform = "Intel Broadwell"', True),
    ("name eq gw-.*", True),
    ("name eq gw", False),
    (r'labels.env eq ".*\bprod\b.*"', True),
    ("name ne gw-1", False),
    ("tags.items = web", True),
    ("scheduling.automaticRestart = true", True),
    ("guestCpus > 1", True),
    ("guestCpus >= 4", False),
    ("status != RUNNING", False),
    ("labels.missing != x", True),
])
def test_expressions(expr, expected):
    assert compile_filter(expr)(ITEM) is expected


@pytest.mark.parametrize("expr", ["(status = RUNNING", "status =", "= RUNNING",
                                  'name = "open', "name eq (["])
def test_bad_expressions_are_400(expr):
    with pytest.raises(ApiError) as info:
        compile_filter(expr)
    assert info.value.code == 400
