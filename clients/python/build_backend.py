"""A PEP 517 build backend in the standard library alone, so `pip install ./clients/python` works offline.

setuptools 65 (what these machines have) needs the separate `wheel` package to build a wheel, and PyPI may be
out of reach; this package is pure Python, so a wheel is a zip of its files plus three metadata files.
"""
import base64
import hashlib
import re
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent
PACKAGE = "joinable_queues"


def _project():
    text = (ROOT / "pyproject.toml").read_text()
    field = lambda key: re.search(rf'^{key} = "([^"]*)"', text, re.M).group(1)  # noqa: E731
    return field("name"), field("version"), field("description"), field("requires-python")


def _extras():
    """[project.optional-dependencies] as METADATA lines: each extra, and what it requires."""
    text = (ROOT / "pyproject.toml").read_text()
    section = re.search(r"^\[project\.optional-dependencies\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    lines = []
    for extra, requirements in re.findall(r"^([\w-]+) = \[(.*?)\]", section.group(1) if section else "", re.M):
        lines.append(f"Provides-Extra: {extra}\n")
        lines += [f'Requires-Dist: {r}; extra == "{extra}"\n' for r in re.findall(r'"([^"]+)"', requirements)]
    return "".join(lines)


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name, version, summary, python = _project()
    dist = f"{name.replace('-', '_')}-{version}"
    files = {f"{PACKAGE}/{p.name}": p.read_bytes() for p in sorted((ROOT / PACKAGE).iterdir()) if p.is_file() and p.suffix in (".py", ".typed")}
    files[f"{dist}.dist-info/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\nRequires-Python: {python}\n"
        + _extras() + "Description-Content-Type: text/markdown\n\n" + (ROOT / "README.md").read_text()
    ).encode()
    files[f"{dist}.dist-info/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: joinable-queues build_backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = [f"{path},sha256={_digest(data)},{len(data)}" for path, data in files.items()]
    files[f"{dist}.dist-info/RECORD"] = ("\n".join(record + [f"{dist}.dist-info/RECORD,,"]) + "\n").encode()
    filename = f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(Path(wheel_directory) / filename, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
    return filename


def _digest(data):
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
