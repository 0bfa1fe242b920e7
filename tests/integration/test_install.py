"""The project as people install it: a wheel in a fresh virtualenv, run from another folder, serves every page;
so does an editable install of a checkout."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_config_and_cors import clean_environment, get, serving

from conftest import CORPUS, ROOT
from site_fixtures import EXTRA_FOLDER, write_extra_documents

# What a fresh clone does not have, or the wheel must not depend on.
# The other test workers write .hypothesis/ and .pytest_cache/ while the copy is made.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "var", "instance", "build", "dist", "*.egg-info", "__pycache__", "test-artifacts", "node_modules",
    ".hypothesis", ".pytest_cache",
)  # fmt: skip
STEP_SECONDS = 300


def run(command: list, cwd: Path, env: dict) -> str:
    """Run a command to completion; return its output, failing the test with it when the command fails."""
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=STEP_SECONDS,
    )
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def fresh_venv(venv: Path) -> Path:
    """Make a virtualenv that finds this environment's packages but not its searchapp; return its python."""
    run([sys.executable, "-m", "venv", "--without-pip", venv], venv.parent, clean_environment())
    python = venv / "bin" / "python"
    site_packages, its_path = json.loads(
        run(
            [
                python,
                "-c",
                "import json, sys, sysconfig; print(json.dumps([sysconfig.get_paths()['purelib'], sys.path]))",
            ],
            venv.parent,
            clean_environment(),
        )
    )
    # The dependencies come from the folders this environment imports from, added to the new one's path
    # as plain folders: their .pth files, the checkout's editable install among them, are not run there.
    # The checkout itself (but for a virtualenv inside it) stays out.
    own_prefix = Path(sys.prefix).resolve()
    ours = [
        entry
        for entry in sys.path
        if entry
        and entry not in its_path
        and Path(entry).is_dir()
        and (not Path(entry).resolve().is_relative_to(ROOT) or Path(entry).resolve().is_relative_to(own_prefix))
    ]
    Path(site_packages, "dependencies.pth").write_text("".join(f"{entry}\n" for entry in ours), encoding="utf-8")
    return python


def pip_install(python: Path, *args) -> None:
    """Install into the environment of `python` with this environment's pip, without dependencies."""
    run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--quiet", *args],
        python.parent.parent.parent,
        clean_environment(),
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A copy of the checkout as a fresh clone has it; its folder."""
    folder = tmp_path_factory.mktemp("clone") / "searchapp"
    shutil.copytree(ROOT, folder, ignore=NOT_IN_A_CLONE)
    return folder


@pytest.fixture(scope="module")
def installed(source, tmp_path_factory):
    """A virtualenv holding the project's wheel, its dependencies taken from this environment; its folder."""
    root = tmp_path_factory.mktemp("install")
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", root / "dist", source],
        root,
        clean_environment(),
    )
    venv = root / "venv"
    pip_install(fresh_venv(venv), "--no-index", next((root / "dist").glob("searchapp-*.whl")))
    return venv


@pytest.fixture(scope="module")
def elsewhere(installed, tmp_path_factory):
    """A folder away from the checkout with a small corpus indexed by the installed command; its path."""
    folder = tmp_path_factory.mktemp("elsewhere")
    shutil.copytree(CORPUS / "seed", folder / "corpus" / "seed")
    write_extra_documents(folder / "corpus" / EXTRA_FOLDER)
    run(
        [installed / "bin" / "searchapp", "reindex", "--corpus", "corpus", "--index", "var/index"],
        folder,
        clean_environment(),
    )
    return folder


@pytest.mark.slow
def test_the_wheel_holds_every_module_template_and_static_file(installed, source):
    site_packages = next((installed / "lib").glob("python*/site-packages"))
    expected = {
        path.relative_to(source).as_posix()
        for package in ("searchapp", "indexer")
        for path in (source / package).rglob("*.py")
    }
    expected |= {
        f"searchapp/{path.relative_to(source).as_posix()}"
        for folder in ("templates", "static")
        for path in (source / folder).iterdir()
        if path.is_file()
    }
    missing = sorted(name for name in expected if not (site_packages / name).is_file())
    assert not missing, f"not in the wheel (a package missing from [tool.setuptools] packages?): {missing}"


@pytest.mark.slow
def test_the_wheel_brings_its_own_code_templates_and_static_files(installed, elsewhere):
    where = json.loads(
        run(
            [
                installed / "bin" / "python",
                "-c",
                "import json, flask, indexer, searchapp; from searchapp import create_app; "
                "app = create_app();"
                "print(json.dumps([searchapp.__file__, indexer.__file__, app.template_folder,"
                " app.static_folder, app.instance_path, flask.__file__]))",
            ],
            elsewhere,
            clean_environment(),
        )
    )
    site_packages = next((installed / "lib").glob("python*/site-packages")).resolve()
    package, indexer, templates, static, instance, flask = (Path(path).resolve() for path in where)
    assert package.is_relative_to(site_packages) and indexer.is_relative_to(site_packages)
    assert templates == package.parent / "templates" and (templates / "error.html").is_file()
    assert static == package.parent / "static" and (static / "embed.js").is_file()
    # Flask's own place for an installed package's instance folder.
    assert instance == installed.resolve() / "var" / "searchapp-instance"
    assert not flask.is_relative_to(site_packages), "dependencies come from the test environment"


@pytest.mark.slow
def test_the_installed_command_serves_every_page(installed, elsewhere):
    command = [str(installed / "bin" / "searchapp"), "serve", "--index", "var/index"]
    with serving(command, cwd=elsewhere, env=clean_environment(), log=elsewhere / "serve.log") as (base, log):
        status, headers, body = get(base + "/")
        assert status == 200 and headers.get_content_type() == "text/html"
        assert b'id="search-form"' in body and b"/static/site.css" in body

        status, _, body = get(base + "/api/search?q=prisoners")
        results = json.loads(body)["results"]
        assert status == 200 and json.loads(body)["ok"] is True
        undated = next(hit for hit in results if hit["title"] == "Undated appeal for the release of prisoners")

        status, _, body = get(base + f"/documents/{undated['id']}?q=prisoners")
        assert status == 200 and b"Undated appeal for the release of prisoners" in body and b"<mark>" in body
        status, _, body = get(base + f"/api/documents/{undated['id']}")
        assert status == 200 and json.loads(body)["document"]["body"].startswith("The appeal calls")

        status, headers, body = get(base + "/feed.atom?q=prisoners")
        assert status == 200 and headers.get_content_type() == "application/atom+xml"
        assert f"{base}/documents/{undated['id']}".encode() in body

        status, headers, body = get(base + "/embed.js")
        assert status == 200 and headers.get_content_type() == "text/javascript"
        assert b"document.currentScript" in body
        status, headers, body = get(base + "/static/site.css")
        assert status == 200 and headers.get_content_type() == "text/css" and body

        status, headers, body = get(base + "/no/such/page")
        assert status == 404 and b"Page not found" in body, "the error page renders from the wheel's templates"
        instance = installed.resolve() / "var" / "searchapp-instance"
        assert f"Settings: {instance / 'config.py'} (none there" in log.read_text()


@pytest.mark.slow
def test_an_editable_install_serves_from_the_checkout(source, tmp_path):
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, "--editable", source)
    # From another folder, as `make run` then a server started elsewhere would.
    page = run(
        [
            python,
            "-c",
            "import searchapp; from searchapp import create_app;"
            "client = create_app({'INDEX': 'none'}).test_client(); response = client.get('/no/such/page');"
            "print(searchapp.__file__, response.status_code, client.get('/embed.js').status_code);"
            "print(response.get_data(as_text=True))",
        ],
        tmp_path,
        clean_environment(),
    )
    first, html = page.split("\n", 1)
    assert first == f"{source / 'searchapp' / '__init__.py'} 404 200"
    assert "Page not found" in html
