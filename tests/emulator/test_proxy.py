"""The HTTPS-proxy mode: unmodified clients with Google's hosts, HTTPS_PROXY and a CA bundle."""

import json

import pytest
import requests

from emulator_helpers import PROJECT, ZONE, instance_body
from emulator.testing import Emulator


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    with Emulator(tmp_path_factory.mktemp("proxy"), backend="memory",
                  https_proxy_port=0) as emulator:
        yield emulator


def google(proxied):
    session = requests.Session()
    session.trust_env = False
    session.proxies = {"https": proxied.info["https_proxy"]}
    session.verify = proxied.info["ca_file"]
    return session


def test_google_hosts_are_answered_through_the_proxy(proxied):
    session = google(proxied)
    headers = {"Authorization": "Bearer " + proxied.token}
    base = "https://compute.googleapis.com/compute/v1/projects/%s/" % PROJECT
    answer = session.post(base + "zones/%s/instances" % ZONE, headers=headers,
                          json=instance_body("via-proxy"))
    assert answer.status_code == 200, answer.text
    got = session.get(base + "zones/%s/instances/via-proxy" % ZONE, headers=headers).json()
    assert got["status"] == "RUNNING"
    billing = session.get("https://cloudbilling.googleapis.com/v1/projects/%s/billingInfo"
                          % PROJECT, headers=headers).json()
    assert billing["billingEnabled"] is True
    locations = session.get("https://iamcredentials.googleapis.com/v1/projects/-/"
                            "serviceAccounts/x@y.iam.gserviceaccount.com/allowedLocations")
    assert locations.status_code == 200
    paths = [line["path"] for line in proxied.requests()]
    assert "/compute/v1/projects/%s/zones/%s/instances/via-proxy" % (PROJECT, ZONE) in paths


def test_service_account_with_google_token_uri_through_the_proxy(proxied, tmp_path, monkeypatch):
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2 import service_account
    with open(proxied.key_file, encoding="utf-8") as handle:
        info = json.load(handle)
    info["token_uri"] = "https://oauth2.googleapis.com/token"
    monkeypatch.setenv("HTTPS_PROXY", proxied.info["https_proxy"])
    monkeypatch.setenv("https_proxy", proxied.info["https_proxy"])
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", proxied.info["ca_file"])
    credentials = service_account.Credentials.from_service_account_info(
        info, scopes=["https://www.googleapis.com/auth/cloud-platform"])
    session = AuthorizedSession(credentials)
    answer = session.get("https://compute.googleapis.com/compute/v1/projects/%s/zones/%s"
                         % (PROJECT, ZONE))
    assert answer.status_code == 200, answer.text
    assert [line["path"] for line in proxied.requests() if line["api"] == "oauth2"] == ["/token"]


def test_other_hosts_are_refused(proxied):
    session = google(proxied)
    with pytest.raises(requests.exceptions.ProxyError):
        session.get("https://example.com/")
    plain = requests.get("http://example.com/", proxies={"http": proxied.info["https_proxy"]})
    assert plain.status_code == 403
    unknown = google(proxied).get("https://compute.googleapis.com/storage/v1/b")
    assert unknown.status_code == 403
