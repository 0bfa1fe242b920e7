"""Shared test paths and helpers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"
SEED = next((CORPUS / "seed").glob("*.txt"))


def load_evaluation():
    """Import bench/evaluate_cleaner.py, the one implementation of the cleaner's quality measures."""
    spec = importlib.util.spec_from_file_location("evaluate_cleaner", ROOT / "bench" / "evaluate_cleaner.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def evaluation():
    """The evaluation module."""
    return load_evaluation()
