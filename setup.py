"""Builds the Python module bbans with CMake (see pyproject.toml and README.md, Python).

`pip install --no-build-isolation .` runs this with Debian's setuptools: build_ext configures
the repository with CMake (tests and benchmarks off), builds only the _bbans target for the
running interpreter, and puts the extension and the shipped models (models/shipped/*.bbm and
their cards) into the package, so an installed module finds them without the source tree.
Set CMAKE_BUILD_PARALLEL_LEVEL to choose the build's parallelism, BBANS_CMAKE_ARGS to add
CMake options.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def version():
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(bbans VERSION ([0-9.]+)", text).group(1)


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        target = Path(self.get_ext_fullpath(ext.name)).resolve()
        build = Path(self.build_temp).resolve() / "cmake"
        build.mkdir(parents=True, exist_ok=True)
        configure = [
            "cmake", "-S", str(ROOT), "-B", str(build),
            "-DCMAKE_BUILD_TYPE=Release",
            "-DBBANS_PYTHON=ON", "-DBBANS_BUILD_TESTS=OFF", "-DBBANS_BUILD_BENCHMARKS=OFF",
            f"-DPython_EXECUTABLE={sys.executable}",
        ] + shlex.split(os.environ.get("BBANS_CMAKE_ARGS", ""))
        subprocess.run(configure, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", str(build), "--target", "_bbans", "-j", jobs], check=True)
        built = list((build / "python" / "bbans").glob("_bbans*.so"))
        if len(built) != 1:
            raise RuntimeError(f"expected one _bbans extension in {build / 'python' / 'bbans'}, found {built}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)
        models = target.parent / "models"
        models.mkdir(exist_ok=True)
        for f in sorted((ROOT / "models" / "shipped").glob("*.bbm*")):
            if f.name.endswith((".bbm", ".bbm.md")):
                shutil.copyfile(f, models / f.name)


setup(
    version=version(),
    packages=["bbans"],
    package_dir={"": "python"},
    ext_modules=[CMakeExtension("bbans._bbans")],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
    # Not build/, the CMake build directory of the README's commands.
    options={"build": {"build_base": "build-python"}},
)
