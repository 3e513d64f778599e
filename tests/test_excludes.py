"""Which files a run lints, as a ruff user expects: `exclude` replaces the defaults and
`extend-exclude` adds to them, `--force-exclude` holds for files named on the command line (how
pre-commit calls the hook), `.gitignore` is respected, and `per-file-ignores` globs match as
ruff's do (`**/` also at the root, `!` negation)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_engine_cli import BAD, run, write

from reglint.cli import main
from reglint.engine.config import Settings
from reglint.engine.gitignore import parse_rules
from reglint.engine.globs import GlobError, compile_glob


def linted(tmp_path: Path, *args: str) -> set[str]:
    """The paths of the files that produced findings (every file here holds BAD)."""
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(main, ["check", "--format", "json", "--no-cache", *args], catch_exceptions=False)
    finally:
        os.chdir(old)
    assert result.exit_code in (0, 1), result.output
    return {f["path"].replace(os.sep, "/") for f in json.loads(result.stdout)["findings"]}


# --------------------------------------------------------------------- exclude, extend-exclude


def test_exclude_replaces_the_defaults_and_extend_exclude_adds(tmp_path: Path) -> None:
    write(tmp_path, "third_party/x.py", BAD)
    write(tmp_path, "build/y.py", BAD)
    write(tmp_path, "src/z.py", BAD)
    write(tmp_path, "pyproject.toml", '[tool.reglint]\nexclude = ["third_party"]\n')
    assert linted(tmp_path, ".") == {"build/y.py", "src/z.py"}  # `build` is a default no more
    write(tmp_path, "pyproject.toml", '[tool.reglint]\nextend-exclude = ["third_party"]\n')
    assert linted(tmp_path, ".") == {"src/z.py"}


def test_command_line_exclude_and_extend_exclude(tmp_path: Path) -> None:
    write(tmp_path, "gen/a.py", BAD)
    write(tmp_path, "build/b.py", BAD)
    write(tmp_path, "src/c.py", BAD)
    assert linted(tmp_path, ".") == {"gen/a.py", "src/c.py"}
    assert linted(tmp_path, ".", "--extend-exclude", "gen") == {"src/c.py"}
    assert linted(tmp_path, ".", "--exclude", "gen") == {"build/b.py", "src/c.py"}
    # A pattern with a slash is relative to the working directory.
    assert linted(tmp_path, ".", "--extend-exclude", "src/*.py") == {"gen/a.py"}


def test_nested_patterns_match_from_the_config_root(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.reglint]\nextend-exclude = ["pkg/generated", "**/legacy_*.py"]\n')
    write(tmp_path, "pkg/generated/a.py", BAD)
    write(tmp_path, "pkg/keep.py", BAD)
    write(tmp_path, "legacy_x.py", BAD)
    write(tmp_path, "pkg/legacy_y.py", BAD)
    assert linted(tmp_path, ".") == {"pkg/keep.py"}


def test_invalid_glob_is_a_configuration_error(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.reglint]\nextend-exclude = ["gen[erated"]\n')
    write(tmp_path, "a.py", BAD)
    code, out = run(["check", "a.py"], tmp_path)
    assert code == 2 and "unclosed '['" in out and "extend-exclude" in out


# -------------------------------------------------------------------------------- force-exclude


@pytest.mark.parametrize("config", ['exclude = ["third_party"]', 'extend-exclude = ["third_party/*"]'])
def test_named_files_are_linted_unless_force_exclude(tmp_path: Path, config: str) -> None:
    write(tmp_path, "pyproject.toml", f"[tool.reglint]\n{config}\n")
    write(tmp_path, "third_party/lib/x.py", BAD)
    write(tmp_path, "src/y.py", BAD)
    named = ("third_party/lib/x.py", "src/y.py")
    assert linted(tmp_path, *named) == {"third_party/lib/x.py", "src/y.py"}  # as ruff: named is linted
    assert linted(tmp_path, "--force-exclude", *named) == {"src/y.py"}
    write(tmp_path, "pyproject.toml", f"[tool.reglint]\n{config}\nforce-exclude = true\n")
    assert linted(tmp_path, *named) == {"src/y.py"}
    assert linted(tmp_path, "--no-force-exclude", *named) == {"third_party/lib/x.py", "src/y.py"}


def test_force_exclude_holds_for_named_directories(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.reglint]\nextend-exclude = ["vendor"]\n')
    write(tmp_path, "vendor/pkg/x.py", BAD)
    write(tmp_path, "src/y.py", BAD)
    assert linted(tmp_path, "vendor/pkg", "src") == {"vendor/pkg/x.py", "src/y.py"}
    assert linted(tmp_path, "--force-exclude", "vendor/pkg", "src") == {"src/y.py"}


def test_force_exclude_looks_only_below_the_project_root(tmp_path: Path) -> None:
    # A project that lives in a directory named like a default exclude is still linted.
    project = tmp_path / "build" / "proj"
    write(project, "pyproject.toml", "[tool.reglint]\n")
    write(project, "train.py", BAD)
    write(project, "venv/lib/x.py", BAD)
    assert linted(project, "--force-exclude", "train.py", "venv/lib/x.py") == {"train.py"}


def test_everything_force_excluded_warns_no_files(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.reglint]\nexclude = ["third_party"]\nforce-exclude = true\n')
    write(tmp_path, "third_party/x.py", BAD)
    code, out = run(["check", "third_party/x.py"], tmp_path)
    assert code == 0
    assert "warning: No Python files found" in out


# ------------------------------------------------------------------------------------ .gitignore


def _repository(tmp_path: Path) -> Path:
    (tmp_path / ".git" / "info").mkdir(parents=True)
    return tmp_path


def test_gitignore_is_respected_by_default(tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    write(repo, ".gitignore", "# local environments\nmyenv/\n/out\ngenerated_*.py\n!generated_keep.py\n")
    write(repo, ".git/info/exclude", "scratch.py\n")
    write(repo, "myenv/lib/python3.11/site.py", BAD)
    write(repo, "out/a.py", BAD)
    write(repo, "src/out/b.py", BAD)  # `/out` is anchored to the root
    write(repo, "src/generated_model.py", BAD)
    write(repo, "src/generated_keep.py", BAD)
    write(repo, "scratch.py", BAD)
    write(repo, "src/train.py", BAD)
    write(repo, "src/sub/.gitignore", "*.py\n!keep.py\n")
    write(repo, "src/sub/drop.py", BAD)
    write(repo, "src/sub/keep.py", BAD)
    expected = {"src/out/b.py", "src/generated_keep.py", "src/train.py", "src/sub/keep.py"}
    assert linted(repo, ".") == expected
    assert linted(repo, "src") == expected  # the rules above the named directory apply too
    everything = expected | {"myenv/lib/python3.11/site.py", "out/a.py", "src/generated_model.py", "scratch.py", "src/sub/drop.py"}
    assert linted(repo, ".", "--no-respect-gitignore") == everything
    write(repo, "pyproject.toml", "[tool.reglint]\nrespect-gitignore = false\n")
    assert linted(repo, ".") == everything


def test_gitignore_does_not_apply_to_named_files_nor_outside_a_repository(tmp_path: Path) -> None:
    write(tmp_path, ".gitignore", "ignored.py\n")
    write(tmp_path, "ignored.py", BAD)
    assert linted(tmp_path, ".") == {"ignored.py"}  # no .git: not a work tree
    _repository(tmp_path)
    assert linted(tmp_path, ".") == set()
    assert linted(tmp_path, "ignored.py") == {"ignored.py"}  # named: linted, as ruff does


def test_virtual_environments_are_never_walked_into(tmp_path: Path) -> None:
    write(tmp_path, "tools/env311/pyvenv.cfg", "home = /usr/bin\n")
    write(tmp_path, "tools/env311/lib/python3.11/site-packages/pkg/x.py", BAD)
    write(tmp_path, "tools/env311/bin/script.py", BAD)
    write(tmp_path, "tools/train.py", BAD)
    assert linted(tmp_path, ".") == {"tools/train.py"}
    assert linted(tmp_path, "tools/env311/bin") == {"tools/env311/bin/script.py"}  # named: linted


GIT_CASES = [
    ("*.log\n!keep.log\n", ["a.log", "d/b.log", "keep.log", "d/keep.log", "x.py"]),
    ("/build\ndocs/_site/\n", ["build/x.py", "src/build/x.py", "docs/_site/i.py", "a/docs/_site/i.py"]),
    ("**/gen/**\n", ["gen/a.py", "x/gen/b.py", "x/y/gen/z/c.py", "general.py"]),
    ("a/**/b.py\n", ["a/b.py", "a/x/b.py", "a/x/y/b.py", "c/a/b.py"]),
    ("[ab]?.py\n\\#hash.py\nsp\\ ace.py\n", ["a1.py", "b22.py", "c1.py", "#hash.py", "sp ace.py"]),
    ("cache\n!cache/keep.py\n", ["cache/x.py", "cache/keep.py"]),
    ("{a,b}.py\n*.{c,d}\nexact.py\n", ["{a,b}.py", "a.py", "x.{c,d}", "x.c", "exact.py", "sub/exact.py"]),
]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("patterns,paths", GIT_CASES)
def test_gitignore_patterns_agree_with_git(tmp_path: Path, patterns: str, paths: list[str]) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True, capture_output=True)
    (tmp_path / ".gitignore").write_text(patterns, encoding="utf-8")
    for path in paths:
        write(tmp_path, path, "x = 1\n")
    proc = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=tmp_path, capture_output=True, text=True)
    by_git = set(proc.stdout.split("\n")) - {""}
    layer = parse_rules(patterns, str(tmp_path))
    assert layer is not None

    def ignored(path: str) -> bool:  # a file is ignored when it or a directory above it is
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            directory = os.path.join(str(tmp_path), *parts[: depth - 1])
            decision = layer.decide(directory, parts[depth - 1], depth < len(parts))
            if decision and depth < len(parts):
                return True  # git never looks inside an ignored directory
            if depth == len(parts):
                return bool(decision)
        return False

    assert {p for p in paths if ignored(p)} == by_git


# ----------------------------------------------------------------------------- per-file-ignores


@pytest.mark.parametrize(
    "pattern,path,matches",
    [
        ("**/test_*.py", "test_a.py", True),  # `**/` matches zero directories: the root too
        ("**/test_*.py", "pkg/tests/test_b.py", True),
        ("tests/*.py", "tests/unit/test_c.py", True),  # globset's `*` crosses `/`, as in ruff
        ("__init__.py", "pkg/sub/__init__.py", True),  # a pattern also matches the file name
        ("scripts/*", "src/scripts.py", False),
        ("{notebooks,scripts}/*.py", "scripts/run.py", True),
        ("train_[0-9].py", "train_7.py", True),
        ("train_[!0-9].py", "train_x.py", True),
        ("train_[!0-9].py", "train_7.py", False),
        ("./src/*.py", "src/a.py", True),
    ],
)
def test_per_file_ignore_globs(tmp_path: Path, pattern: str, path: str, matches: bool) -> None:
    settings = Settings(root=tmp_path, per_file_ignores=((pattern, ("RL201",)),))
    assert settings.ignored_for(str(tmp_path / path)) == (("RL201",) if matches else ())


def test_per_file_ignores_negation_and_cli(tmp_path: Path) -> None:
    write(
        tmp_path, "pyproject.toml",
        '[tool.reglint]\nper-file-ignores = { "!src/**.py" = ["RL202"], "**/test_*.py" = ["RL201"] }\n',
    )
    write(tmp_path, "src/a.py", BAD)
    write(tmp_path, "notebooks/b.py", BAD)
    write(tmp_path, "test_c.py", BAD)
    code, out = run(["check", ".", "--format", "json", "--no-cache"], tmp_path)
    found = {(f["path"].replace(os.sep, "/"), f["code"]) for f in json.loads(out)["findings"]}
    assert found == {("src/a.py", "RL201"), ("src/a.py", "RL202"), ("notebooks/b.py", "RL201")}


@pytest.mark.parametrize(
    "pattern,text,matches",
    [
        ("**", "a/b/c", True),
        ("data/**", "data/x/y.py", True),
        ("data/**", "database.py", False),
        ("a/**/b", "a/b", True),
        ("a?c", "a/c", True),
        ("\\*.py", "*.py", True),
        ("\\*.py", "x.py", False),
        ("*.{py,pyi}", "stubs/x.pyi", True),
    ],
)
def test_globs_follow_globset(pattern: str, text: str, matches: bool) -> None:
    assert (compile_glob(pattern).fullmatch(text) is not None) is matches


@pytest.mark.parametrize("pattern", ["a[bc", "{a,b", "[!"])
def test_unclosed_globs_are_errors(pattern: str) -> None:
    with pytest.raises(GlobError):
        compile_glob(pattern)
