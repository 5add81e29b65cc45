"""The wheel's one build step beyond setuptools' defaults.

An installed rumprun bakes images, so it needs what the bake builds from:
the kernel and platform sources, the Makefile, bake configurations and
linker scripts, the scripts the build runs.  build_py copies them into the
package as rumprun/_tree (package data) with a STAMP naming their content;
rumprun.host finds the tree there when the package does not sit in a
source checkout, and builds the libraries into a per-user cache on first
use.  Editable installs use the checkout itself and copy nothing.
"""

import hashlib
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# What the build needs, relative to the source tree's root (MANIFEST.in puts
# the same into the sdist).
TREE = ["Makefile", "kernel", "platform", "libc", "app-tools", "scripts"]
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.o", "*.a")


class BuildPyWithTree(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "rumprun" / "_tree"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name in TREE:
            source = Path(name)
            if source.is_dir():
                shutil.copytree(source, target / name, ignore=IGNORED, symlinks=True)
            else:
                shutil.copy2(source, target / name)
        digest = hashlib.sha256()
        for path in sorted(p for p in target.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(target)).encode() + b"\0")
            digest.update(path.read_bytes())
        (target / "STAMP").write_text(digest.hexdigest()[:16] + "\n")


setup(cmdclass={"build_py": BuildPyWithTree})
