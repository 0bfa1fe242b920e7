"""The boundaries the layout promises: only the engine knows Whoosh, and the indexer never loads Flask."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_only_the_engine_package_mentions_whoosh():
    mentions = {
        path.relative_to(ROOT).as_posix()
        for package in ("indexer", "searchapp")
        for path in (ROOT / package).rglob("*.py")
        if "whoosh" in path.read_text(encoding="utf-8").lower()
    }
    assert mentions and all(path.startswith("indexer/engine/") for path in mentions), sorted(mentions)


def test_the_indexer_runs_without_flask():
    modules = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / "indexer").rglob("*.py")
    )
    code = f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\nprint('flask' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
