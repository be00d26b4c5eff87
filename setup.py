"""Which files go into the wheel; the project's metadata is in pyproject.toml.

The code is every ``ctiserver*`` package. The files the server reads at run time stay
in their top-level folders of the checkout (``screenpop/``, ``db/``, ``asterisk-conf/``,
``dialplans/``, ``ivr_flows/``) and are mapped into ``ctiserver/_data/`` inside the
wheel, where ``ctiserver.resources`` finds them once installed; the table of those
folders is ``RESOURCES`` in ctiserver/resources.py (read here without importing the
package). A subfolder (e.g. ``screenpop/admin``) becomes a data package of its own, so
it needs no listing.
"""

import runpy
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).resolve().parent

#: folder of the checkout -> its name under ctiserver/_data/ in the wheel
DATA_FOLDERS = {
    resource.folder: resource.packaged
    for resource in runpy.run_path(str(ROOT / "ctiserver" / "resources.py"))["RESOURCES"]
}


def data_packages() -> tuple[list[str], dict[str, str], dict[str, list[str]]]:
    packages: list[str] = []
    package_dir: dict[str, str] = {}
    package_data: dict[str, list[str]] = {}
    for folder, name in DATA_FOLDERS.items():
        package_dir[f"ctiserver._data.{name}"] = folder
        for directory in [ROOT / folder, *sorted((ROOT / folder).rglob("*"))]:
            relative = directory.relative_to(ROOT / folder)
            if not directory.is_dir() or any(
                part == "__pycache__" or part.startswith(".") for part in relative.parts
            ):
                continue
            package = ".".join(["ctiserver._data", name, *relative.parts])
            packages.append(package)
            package_data[package] = ["*"]
    return packages, package_dir, package_data


data, data_dirs, data_files = data_packages()
setup(
    packages=find_packages(include=["ctiserver", "ctiserver.*"]) + data,
    package_dir=data_dirs,
    package_data={"ctiserver.ivr": ["flow.schema.json"], **data_files},
)
