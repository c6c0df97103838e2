"""The ``loopml`` command as a whole: exit codes, error lines, --debug, --version, --help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import loopml
from tests.cli.conftest import Cli, Track

LOOPML = Path(sys.executable).parent / "loopml"
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/x"
COMMANDS = ("init", "runs", "experiments", "gc", "doctor", "db", "demo")


def run_loopml(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed console script in a real process (clean LOOPML_* environment)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    environ.update(env)
    return subprocess.run(
        [str(LOOPML), *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


# -- exit codes --------------------------------------------------------------------------------


def test_an_unknown_run_id_exits_1(cli: Cli, workspace_env: str, track: Track) -> None:
    track("e", "a")
    result = cli("runs", "show", "0" * 32)
    assert result.code == 1
    assert result.err.startswith("error: no run with id")


def test_a_command_outside_any_workspace_exits_1_and_suggests_init(cli: Cli, project: Path) -> None:
    result = cli("runs", "list")
    assert result.code == 1
    assert result.err.startswith("error: no loopml workspace")
    assert "loopml init" in result.err
    assert not (project / ".loopml").exists()  # reading never creates a workspace


def test_an_unreachable_store_exits_3(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOPML_URI", UNREACHABLE)
    result = cli("runs", "list")
    assert result.code == 3
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("error: cannot reach the store at")
    assert "127.0.0.1" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "list", "--no-such-option"],
        ["runs", "show"],  # missing RUN_ID
        ["no-such-command"],
        ["gc", "--grace-hours", "soon"],
    ],
)
def test_a_usage_error_exits_2(cli: Cli, args: list[str]) -> None:
    result = cli(*args)
    assert result.code == 2
    assert "Usage:" in result.err
    assert "Traceback" not in result.err


def test_a_malformed_loopml_uri_exits_1_naming_the_variable(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPML_URI", "mysql://u@h/db")
    result = cli("runs", "list")
    assert result.code == 1
    assert result.err.startswith("error: LOOPML_URI='mysql://u@h/db'")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (loopml.BlobCorruptError("blob sha256:ab is corrupt"), 4),
        (loopml.BlobNotFoundError("blob sha256:ab is missing"), 4),
        (loopml.StoreUnavailableError("cannot reach the store"), 3),
        (loopml.ConflictError("param C changed"), 1),
        (loopml.MigrationRequiredError("run `loopml db upgrade`"), 1),
    ],
)
def test_each_loopml_error_becomes_its_own_exit_code_and_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, error: loopml.LoopmlError, code: int
) -> None:
    from loopml._cli import doctor

    def fail() -> list[object]:
        raise error

    monkeypatch.setattr(doctor, "_checks", fail)
    result = cli("doctor")
    assert result.code == code
    assert result.err == f"error: {error}\n"


def test_an_interrupt_exits_130_without_a_traceback(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loopml._cli import doctor

    def interrupted() -> list[object]:
        raise KeyboardInterrupt

    monkeypatch.setattr(doctor, "_checks", interrupted)
    result = cli("doctor")
    assert result.code == 130
    assert "Traceback" not in result.err


def test_an_unexpected_exception_exits_70_with_one_line_asking_for_a_report(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loopml._cli import doctor

    def explode() -> list[object]:
        raise KeyError("surprise")

    monkeypatch.setattr(doctor, "_checks", explode)
    result = cli("doctor")
    assert result.code == 70
    assert result.err.startswith("internal error: KeyError: 'surprise'")
    assert "--debug" in result.err
    assert "Traceback" not in result.err


def test_an_error_message_with_square_brackets_is_printed_verbatim(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPML_URI", "[red]x[/]")
    result = cli("runs", "list")
    assert result.code == 1
    assert "'[red]x[/]'" in result.err  # Rich markup in user input is escaped, not rendered


# -- --debug -----------------------------------------------------------------------------------


def test_debug_prints_the_traceback_of_an_error(cli: Cli, track: Track) -> None:
    assert cli("init").code == 0
    track("e", "a")
    result = cli("--debug", "runs", "show", "0" * 32)
    assert result.code == 1
    assert "Traceback (most recent call last)" in result.err
    assert "loopml._errors.NotFoundError" in result.err
    assert result.err.rstrip().splitlines()[-1].startswith("error: no run with id")


def test_without_debug_the_same_error_has_no_traceback(cli: Cli, track: Track) -> None:
    assert cli("init").code == 0
    track("e", "a")
    result = cli("runs", "show", "0" * 32)
    assert "Traceback" not in result.err


def test_debug_after_the_subcommand_also_shows_the_traceback(cli: Cli, track: Track) -> None:
    # main() looks for --debug anywhere in argv, so users will put it at the end too.
    assert cli("init").code == 0
    track("e", "a")
    result = cli("runs", "show", "0" * 32, "--debug")
    assert result.code == 1, result.err
    assert "Traceback (most recent call last)" in result.err


# -- --version and --help ----------------------------------------------------------------------


def test_version_prints_the_package_version(cli: Cli) -> None:
    result = cli("--version")
    assert result.code == 0
    assert result.out.strip() == f"loopml {loopml.__version__}"


def test_help_lists_every_command(cli: Cli) -> None:
    result = cli("--help")
    assert result.code == 0
    for command in COMMANDS:
        assert f" {command} " in result.out
    assert "--debug" in result.out
    assert "--version" in result.out


def test_no_arguments_shows_the_help(cli: Cli) -> None:
    result = cli()
    assert result.code == 2  # like a usage error: nothing was done
    assert "Usage:" in result.out + result.err
    assert "runs" in result.out + result.err


@pytest.mark.parametrize(
    ("group", "subcommands"),
    [("runs", ("list", "show", "compare")), ("db", ("upgrade", "current"))],
)
def test_group_help_lists_its_subcommands(
    cli: Cli, group: str, subcommands: tuple[str, ...]
) -> None:
    result = cli(group, "--help")
    assert result.code == 0
    for sub in subcommands:
        assert f" {sub} " in result.out


def test_short_h_is_help_too(cli: Cli) -> None:
    assert cli("-h").out == cli("--help").out


# -- real processes ----------------------------------------------------------------------------


def test_the_installed_command_exits_1_on_an_unknown_run_without_a_traceback(
    project: Path,
) -> None:
    assert run_loopml("init", cwd=project).returncode == 0
    done = run_loopml("runs", "show", "deadbeef", cwd=project)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "error: no run with id 'deadbeef'; list runs with `loopml runs list`"
    ]


def test_the_installed_command_exits_3_when_the_store_is_unreachable(project: Path) -> None:
    done = run_loopml("runs", "list", cwd=project, LOOPML_URI=UNREACHABLE)
    assert done.returncode == 3
    assert done.stderr.startswith("error: cannot reach the store")
    assert "Traceback" not in done.stderr


def test_the_installed_command_sees_runs_tracked_by_another_process(
    project: Path, cli: Cli
) -> None:
    script = (
        "import loopml\n"
        "with loopml.start_run(experiment='e', name='from-a-script') as run:\n"
        "    loopml.log_metric('auc', 0.75)\n"
        "print(run.id)\n"
    )
    made = subprocess.run(
        [sys.executable, "-c", script], cwd=project, capture_output=True, text=True, check=True
    )
    run_id = made.stdout.strip()
    done = run_loopml("runs", "list", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    (run,) = json.loads(done.stdout)
    assert run["id"] == run_id
    assert run["metrics"] == {"auc": 0.75}
    assert run["name"] == "from-a-script"


def test_loopml_help_does_not_import_heavy_libraries(project: Path) -> None:
    code = (
        "import sys\n"
        "from loopml._cli.app import main\n"
        "for argv in (['--help'], ['runs', '--help'], ['runs', 'list', '--help'], "
        "['--version']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = {'sqlalchemy', 'pandas', 'numpy', 'sklearn', 'alembic', 'fsspec'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
