"""The sample's README section "Running it with kedro-argo" says what really happens.

Its ```bash blocks whose first line is ``# checked by tests/test_sample_readme.py`` are run, in
order, on a copy of the sample project: every ``export NAME=VALUE`` and ``kedro argo ...`` line
(a command whose comment starts with ``fails`` must exit 1). Before the failing run the test
does what the README tells the reader to do (its ``conf/local/argo.yml`` block, its ``raise``
line as the first line of ``evaluate_model``), after it the fix (the line removed); the
``--resume`` command gets the workflow name the failed run printed. What the section claims
is checked against each run: the step counts, the same outputs with ``--group-by memory``,
the sweep's per-branch files, the resume hint, the reused steps not run again.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from .sample_project import SAMPLE, base_env, copy_project, declared_outputs, kedro

README = SAMPLE / "README.md"
TITLE = "## Running it with kedro-argo"
MARK = "# checked by tests/test_sample_readme.py"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
NODES = Path("src/spaceflights/pipelines/data_science/nodes.py")
WORKFLOW = r"spaceflights-default-[a-z0-9]{5}"


@dataclass
class Command:
    argv: list[str]
    comment: str

    @property
    def fails(self) -> bool:
        return self.comment.startswith("fails")


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(TITLE)
    end = text.find("\n## ", start + len(TITLE))
    return text[start : end if end != -1 else None]


def blocks(lang: str) -> list[str]:
    return [body for found_lang, body in FENCE.findall(section()) if found_lang == lang]


def checked_commands() -> list[Command]:
    commands = []
    for body in blocks("bash"):
        lines = body.splitlines()
        if not lines or lines[0].strip() != MARK:
            continue
        for line in lines[1:]:
            code, _, comment = line.partition(" #")
            if not code.strip():
                continue
            argv = shlex.split(code)
            assert argv[0] == "export" or argv[:2] == ["kedro", "argo"], line
            commands.append(Command(argv, comment.strip()))
    return commands


def one_block(lang: str) -> str:
    [body] = blocks(lang)
    return body


def break_node(project: Path) -> str:
    """The README's ``raise`` line as the first line of evaluate_model, after its docstring."""
    [line] = [ln for ln in one_block("python").splitlines() if ln.strip()]
    path = project / NODES
    source = path.read_text()
    [func] = [
        n
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.FunctionDef) and n.name == "evaluate_model"
    ]
    docstring = func.body[0]
    assert isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)
    lines = source.splitlines(keepends=True)
    lines.insert(docstring.end_lineno, line + "\n")
    path.write_text("".join(lines))
    return source


def claimed_steps(command: Command) -> int:
    """The README's comment on a run says how many steps (exit handler aside) it has."""
    found = re.match(r"(\d+) steps", command.comment)
    assert found, command
    return int(found.group(1))


def workflow_name(output: str) -> str:
    found = re.search(rf"Workflow ({WORKFLOW}) succeeded", output)
    assert found, output
    return found.group(1)


def resume_hint(output: str) -> str:
    found = re.search(r"once fixed: kedro argo run-local --resume (\S+?)\)?$", output, re.M)
    assert found, output
    return found.group(1)


def steps_of(project: Path, name: str) -> dict[str, str]:
    record = json.loads((project / ".kedro-argo/logs" / name / "run.json").read_text())
    return record["steps"]


def logs_of(project: Path, name: str) -> dict[str, str]:
    folder = project / ".kedro-argo/logs" / name
    return {p.name: p.read_text() for p in sorted(folder.glob("*.log*"))}


def versions(project: Path) -> list[str]:
    return sorted(p.name for p in (project / "data/03_primary/model_input_table.csv").iterdir())


@pytest.mark.slow
def test_the_readme_commands_do_what_the_readme_says(tmp_path: Path) -> None:
    commands = checked_commands()
    shapes = [c.argv[2:] for c in commands if c.argv[0] == "kedro"]
    assert len(shapes) == 5, shapes  # run-local, --group-by memory, sweep, failing, --resume
    project = copy_project(tmp_path / "spaceflights")
    env = base_env(COLUMNS="200")  # the summary's rows unwrapped
    state: dict[str, object] = {}

    for command in commands:
        if command.argv[0] == "export":
            for assignment in command.argv[1:]:
                key, _, value = assignment.partition("=")
                env[key] = value
            continue
        args = command.argv[1:]
        if command.fails:
            (project / "conf/local/argo.yml").write_text(one_block("yaml"))
            state["source"] = break_node(project)
        if "--resume" in args:
            readme_name = args[args.index("--resume") + 1]
            # the README's example name is the one its failure transcript printed
            assert readme_name == resume_hint(section()), readme_name
            args[args.index("--resume") + 1] = str(state["failed"])
        run = kedro(project, *args, env=env, check=False)
        output = run.stdout + run.stderr
        assert run.returncode == (1 if command.fails else 0), output
        check(project, args, command, output, state)


def check(project: Path, args: list[str], command: Command, output: str, state: dict) -> None:
    rest = args[2:]
    if command.fails:
        assert "ValueError: evaluate_model is broken" in output
        name = resume_hint(output)
        assert re.fullmatch(WORKFLOW, name), name
        steps = steps_of(project, name)
        failed = sorted(s for s, phase in steps.items() if phase != "Succeeded")
        assert failed == [
            "active-modelling-pipeline-evaluate-model-node",
            "candidate-modelling-pipeline-evaluate-model-node",
            "compare-models-node",
        ], steps
        # no retries: one attempt per failed step (whether the second evaluate step started
        # before the first one failed depends on timing: failFast stops scheduling new steps)
        ran_and_failed = [s for s, phase in steps.items() if phase == "Failed"]
        assert ran_and_failed and output.count("===== attempt 1 Failed") == len(ran_and_failed)
        assert "attempt 2" not in output
        (project / NODES).write_text(str(state["source"]))  # the fix
        state.update(failed=name, logs=logs_of(project, name), versions=versions(project))
    elif "--resume" in rest:
        name = str(state["failed"])
        assert workflow_name(output) == name
        [reused] = re.findall(r"The (\d+) steps that had succeeded are reused", section())
        assert output.count("reused: it succeeded in the run being resumed") == int(reused)
        assert all(phase == "Succeeded" for phase in steps_of(project, name).values())
        before, after = state["logs"], logs_of(project, name)
        rerun = {
            "active-modelling-pipeline-evaluate-model-node",
            "candidate-modelling-pipeline-evaluate-model-node",
            "compare-models-node",
            "onExit",
        }
        for log, text in before.items():
            step = log.removesuffix(".log")
            if step in rerun:  # the first log kept beside the new one
                assert after[f"{log}.1"] == text, log
            else:  # reused: not run again
                assert after[log] == text and f"{log}.1" not in after, log
        for step in sorted(rerun - {"onExit"}):
            assert "Succeeded" in after[f"{step}.log"], step
        assert versions(project) == state["versions"]  # the same save version
        outputs = declared_outputs(project)
        assert {k: outputs[k] for k in state["plain"]} == state["plain"]
    elif "--sweep" in rest:
        workflow_name(output)
        key, _, values = rest[rest.index("--sweep") + 1].partition("=")
        labels = [f"{key.rsplit('.', 1)[-1]}-{value}" for value in values.split(",")]
        for label in labels:
            assert f"sweep.branch({labels.index(label)}:{label})" in output
        [listed] = [
            body.split()
            for body in blocks("text")
            if all(ln.startswith("data/") for ln in body.splitlines())
        ]
        assert len(listed) == 3 * len(labels), listed
        for path in listed:
            assert (project / path).is_file(), path
            assert any(f"/{label}/" in path for label in labels), path
        outputs = declared_outputs(project)
        base = outputs["08_reporting/candidate_modelling_pipeline_metrics.json"]
        assert outputs["08_reporting/test_size-0.3/candidate_modelling_pipeline_metrics.json"] == (
            base
        )
    elif "--group-by" in rest:
        assert rest[rest.index("--group-by") + 1] == "memory"
        assert len(steps_of(project, workflow_name(output))) == claimed_steps(command)
        assert declared_outputs(project) == state["plain"]
    else:
        assert rest == [], rest
        assert len(steps_of(project, workflow_name(output))) == claimed_steps(command)
        state["plain"] = declared_outputs(project)
