"""Prepare ansible-test's pip bootstrap without the internet.

ansible-test creates one virtual environment per sanity test and bootstraps pip in each with a
`get-pip.py` it downloads from a host this machine cannot reach; it looks in its cache first
(`~/.ansible/test/cache/get_pip_<version>.py`). This writes that cached script: it runs pip
from pip's own wheel (downloaded from the package index like every other requirement
ansible-test installs), which is exactly what get-pip.py does.
"""
import os
import pathlib
import subprocess
import sys

from ansible_test._internal.python_requirements import get_venv_packages


class _Python:  # get_venv_packages only reads .version
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"


def main():
    version = get_venv_packages(_Python())["pip"]
    cache = pathlib.Path(os.path.expanduser("~/.ansible/test/cache"))
    script = cache / f"get_pip_{version.replace('.', '_')}.py"
    wheels = sorted(cache.glob(f"pip-{version}-*.whl"))
    if not wheels:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "-d", str(cache), f"pip=={version}"], check=True)
        wheels = sorted(cache.glob(f"pip-{version}-*.whl"))
    text = (
        "# Written by openclaw.gcp scripts/ansible_test_pip_bootstrap.py: get-pip.py from a local wheel.\n"
        "import sys\n"
        f"sys.path.insert(0, {str(wheels[0])!r})\n"
        "from pip._internal.cli.main import main\n"
        "# get-pip.py's own flags; pip install does not know them.\n"
        "args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]\n"
        "sys.exit(main(['install', '--no-cache-dir'] + args))\n"
    )
    if not script.exists() or script.read_text() != text:
        script.write_text(text)
    print(f"ansible-test pip {version} bootstrap: {script}")


if __name__ == "__main__":
    main()
