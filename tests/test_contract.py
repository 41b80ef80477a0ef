"""The pod contract (kedro_argo.contract): what the compiler writes, the pod reads back.

Round trip: compile a project (hand-made facts), take every DAG task that runs a step — in the
root DAG and in nested levels — and resolve its container the way Argo and the kubelet do:
``{{inputs.parameters.*}}`` from the task's arguments (or the template's defaults),
``{{workflow.*}}`` from the run, then ``$(VAR)`` / ``$$`` expansion from the container's env.
Parsing the result with the runtime's own parser must give back the plan's step; reading the
resolved environment must give back the run's facts.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import string
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kedro_argo import contract
from kedro_argo.compiler.build import Built, flatten
from kedro_argo.compiler.emit import parameter_text
from kedro_argo.compiler.facts import ProjectFacts
from kedro_argo.config import parse_config
from kedro_argo.contract import (
    ContractError,
    PodEnvironment,
    StepCall,
    parse_step_arguments,
    pod_environment_entries,
    read_pod_environment,
    step_arguments,
)
from kedro_argo.errors import CompileError
from kedro_argo.local.variables import Scope, expand_k8s, substitute
from kedro_argo.runtime.entrypoint import runtime_params

from .compile.support import build_facts, chain, facts, node

RUN = {
    "workflow.uid": "5d1c0e2a-uid",
    "workflow.name": "demo-default-x7k2p",
    "workflow.creationTimestamp": "2024-05-01T10:00:00Z",
}
CONFIG: dict[str, Any] = {"image": "registry.example.com/demo:1", "data": {"root": "s3://b/run"}}

# Kedro accepts node names matching [\w.-]+ (unicode word characters included), "--" too.
TWO_DASHES = "--"
kedro_names = st.one_of(
    st.sampled_from(
        ["-leading-dash", "--nodes", "--pipeline", "-", ".", "..", "-.-", "_", "a.b.c"]
    ),
    st.sampled_from(["données", "ß.ü", "名前", "x٣", "Ωmega-1"]),
    st.from_regex(r"[\w.-]{1,12}", fullmatch=True),
)
# Parameter and dataset texts that a naive parser would trip on.
hostile_texts = st.one_of(
    st.sampled_from(
        [
            "a=b",
            "--nodes=x",
            "-x",
            "two words",
            " padded ",
            "$HOME",
            "$(HOME)",
            "$$",
            "$(KEDRO_ARGO_PIPELINE)",
            "it's",
            '"quoted"',
            "'single'",
            "a,b",
            "[1, 2]",
            "{k: v}",
            "#not a comment",
            "",
            "é",
        ]
    ),
    st.text(alphabet=string.ascii_letters + string.digits + " =$'\"-,:[]{}()#é.", max_size=16),
)


# --------------------------------------------------------------------------- resolving a pod


def workflow_globals(manifest: Mapping[str, Any]) -> dict[str, str]:
    spec = manifest["spec"]
    values = dict(RUN)
    for parameter in (spec.get("arguments") or {}).get("parameters") or []:
        values[f"workflow.parameters.{parameter['name']}"] = parameter["value"]
    return values


def resolve_env(entries: Sequence[Mapping[str, str]], scope: Scope) -> dict[str, str]:
    """Argo substitution, then the kubelet's ``$(VAR)`` expansion from earlier entries."""
    env: dict[str, str] = {}
    for entry in entries:
        env[entry["name"]] = expand_k8s(substitute(entry["value"], scope, entry["name"]), env)
    return env


def pod_environment(manifest: Mapping[str, Any]) -> dict[str, str]:
    entries = manifest["spec"]["templateDefaults"]["container"]["env"]
    return resolve_env(entries, Scope(workflow_globals(manifest)))


def resolved_args(
    template: Mapping[str, Any], inputs: Mapping[str, str], manifest: Mapping[str, Any]
) -> list[str]:
    """The argument list the pod's process gets."""
    container = template["container"]
    assert container["command"] == list(contract.POD_COMMAND)
    scope = Scope(workflow_globals(manifest), inputs)
    env = pod_environment(manifest)
    env.update(resolve_env(container.get("env", []), scope))
    return [expand_k8s(substitute(arg, scope, template["name"]), env) for arg in container["args"]]


def step_calls(manifest: Mapping[str, Any]) -> dict[str, tuple[StepCall, str]]:
    """Every DAG task that runs a step (any level) → (what its pod reads, its template)."""
    templates = {t["name"]: t for t in manifest["spec"]["templates"]}
    out: dict[str, tuple[StepCall, str]] = {}
    for dag in (t for t in templates.values() if "dag" in t):
        for task in dag["dag"]["tasks"]:
            template = templates[task["template"]]
            if "dag" in template:
                continue
            inputs = {
                p["name"]: p["default"]
                for p in (template.get("inputs") or {}).get("parameters") or []
                if "default" in p
            }
            for p in (task.get("arguments") or {}).get("parameters") or []:
                inputs[p["name"]] = p["value"]
            assert task["name"] not in out, f"task {task['name']} twice"
            call = parse_step_arguments(resolved_args(template, inputs, manifest))
            out[task["name"]] = (call, template["name"])
    return out


def assert_round_trip(built: Built, *, params: Sequence[str] = ()) -> dict[str, StepCall]:
    """Every step of the plan is run by exactly one task, whose pod reads back that step."""
    manifest, plan, project = built.manifest, built.plan, built.facts
    templates = {t["name"]: t for t in manifest["spec"]["templates"]}
    calls = step_calls(manifest)
    assert sorted(calls) == sorted(s.name for s in plan.steps)
    for step in plan.steps:
        call, template_name = calls[step.name]
        host = plan.template(step.template).pipeline
        assert template_name == step.template
        assert call.nodes == step.nodes, step.name
        assert call.pipeline == host
        assert templates[template_name]["metadata"]["annotations"]["kedro.org/pipeline"] == host
        assert set(step.nodes) <= project.hosts()[host] or host == project.pipeline_name
        assert call.exports == step.exports, step.name
        assert call.env == project.env
        assert call.params == tuple(params)
    return {name: call for name, (call, _) in calls.items()}


def expected_environment(built: Built) -> PodEnvironment:
    project = built.facts
    produced = {ds.split("@")[0] for step in built.plan.steps for ds in step.outputs}
    return PodEnvironment(
        run_id=RUN["workflow.uid"],
        workflow_name=RUN["workflow.name"],
        created=RUN["workflow.creationTimestamp"],
        commit_id=project.commit_id,
        pipeline=project.pipeline_name,
        data_root=project.config.data.root,
        compression=project.config.data.compression,
        pin_versions=tuple(
            sorted(ds for ds in project.versioned_datasets if ds.split("@")[0] in produced)
        ),
    )


# --------------------------------------------------------------------------- compiled round trip


def exporting_project(**overrides: Any) -> ProjectFacts:
    """Tagged groups, an export, a smaller host pipeline, odd names, an exit handler."""
    nodes = [
        node("-leading-dash", ["raw$data"], ["a$1"], tags=["group.first"]),
        node("--nodes", ["a$1"], ["b, c"], tags=["group.first"]),
        node("x.y", ["a$1"], ["c"]),
        node("données", ["c", "b, c"], ["d"], tags=["group.last"]),
        node("..", ["d"], ["e"], tags=["group.last"]),
    ]
    config = {
        **CONFIG,
        "parameters": ["model.lr", "price$"],
        "workflow": {"on_exit_pipeline": "alerts"},
    }
    registered = {
        "__default__": frozenset(n.name for n in nodes),
        "prep$": frozenset({"-leading-dash", "--nodes"}),
        "alerts": frozenset({"x.y"}),
    }
    fields: dict[str, Any] = {
        "env": "dev$(HOME)",
        "pipeline_name": "__default__",
        "registered": registered,
        "parameters": {"model": {"lr": 0.1}, "price$": "$(HOME) costs $5"},
        "runtime_params": {"seed": 7, "label": "a=b --nodes=x 'q' $$"},
        "versioned_datasets": frozenset({"d", "unused"}),
    }
    fields.update(overrides)
    return facts(nodes, config, **fields)


EXPORT_PARAMS = (
    "seed=7",
    "label=a=b --nodes=x 'q' $$",
    "model.lr=0.1",
    "price$=$(HOME) costs $5",
)


def test_every_compiled_step_reads_back_as_planned() -> None:
    built = build_facts(exporting_project(), group_by="tag")
    calls = assert_round_trip(built, params=EXPORT_PARAMS)
    by_label = {s.label: s for s in built.plan.steps}
    first = calls[by_label["first"].name]
    assert first.nodes == ("-leading-dash", "--nodes")
    assert first.pipeline == "prep$"  # the smallest registered pipeline hosting both
    assert first.exports == ("a$1",)  # x.y, in another pod, loads it too
    assert calls[by_label["last"].name].exports == ()
    assert calls[by_label["last"].name].nodes == ("données", "..")
    assert first.env == "dev$(HOME)"


def test_compiled_parameters_reach_the_pod_with_their_values() -> None:
    built = build_facts(exporting_project(), group_by="tag")
    call = next(iter(assert_round_trip(built, params=EXPORT_PARAMS).values()))
    assert runtime_params(call.params) == {
        "seed": 7,
        "label": "a=b --nodes=x 'q' $$",
        "model": {"lr": 0.1},
        "price$": "$(HOME) costs $5",
    }


def test_compiled_environment_reads_back_as_the_run() -> None:
    built = build_facts(exporting_project(), group_by="tag")
    env = pod_environment(built.manifest)
    assert read_pod_environment(env) == expected_environment(built)
    assert env[contract.PIN_VERSIONS_ENV] == '["d"]'  # saved in this run; "unused" is not
    assert env[contract.TELEMETRY_ENV] == "true"


def test_environment_keeps_dollars_in_names_as_written() -> None:
    built = build_facts(
        exporting_project(pipeline_name="$(KEDRO_ARGO_RUN_ID)$$", versioned_datasets={"d"}),
        group_by="tag",
    )
    pod = read_pod_environment(pod_environment(built.manifest))
    assert pod.pipeline == "$(KEDRO_ARGO_RUN_ID)$$"
    assert pod == expected_environment(built)


def test_exit_handler_runs_its_whole_pipeline_and_sees_the_status() -> None:
    built = build_facts(exporting_project(), group_by="tag")
    manifest = built.manifest
    assert manifest["spec"]["onExit"] == "exit-handler"
    template = next(t for t in manifest["spec"]["templates"] if t["name"] == "exit-handler")
    globals_ = {**workflow_globals(manifest), "workflow.status": "Failed"}
    scope = Scope(globals_, exit_handler=True)
    env = pod_environment(manifest)
    env.update(resolve_env(template["container"]["env"], scope))
    args = [expand_k8s(substitute(a, scope, "exit"), env) for a in template["container"]["args"]]
    assert parse_step_arguments(args) == StepCall(
        pipeline="alerts", nodes=(), env="dev$(HOME)", params=EXPORT_PARAMS
    )
    assert env[contract.WORKFLOW_STATUS_ENV] == "Failed"


def test_nested_dag_levels_read_back_as_planned() -> None:
    # three independent chains of 150: the root cannot hold 450 tasks
    nodes = [
        node(f"-part{k}_{i}", [f"p{k}$ds{i - 1}" if i else f"raw{k}"], [f"p{k}$ds{i}"])
        for k in range(3)
        for i in range(150)
    ]
    built = build_facts(facts(nodes, CONFIG, runtime_params={"p": "$(x)"}))
    assert len(built.plan.dags) > 1, "the test needs nested levels"
    calls = assert_round_trip(built, params=["p=$(x)"])
    assert len(calls) == 450
    assert read_pod_environment(pod_environment(built.manifest)) == expected_environment(built)


# --------------------------------------------------------------------------- property tests


@st.composite
def projects(draw: st.DrawFn) -> tuple[ProjectFacts, str, tuple[str, ...]]:
    """Small random pipelines with hostile names and parameter texts, maybe tag-grouped."""
    names = draw(st.lists(kedro_names, min_size=1, max_size=8, unique=True))
    nodes = []
    for i, name in enumerate(names):
        parents = draw(st.lists(st.integers(0, i - 1), max_size=2)) if i else []
        inputs = [f"{names[p]}$out" for p in parents] or [f"raw ${i}"]
        tags = draw(st.sampled_from([(), ("group.a",), ("group.b",)]))
        nodes.append(node(name, inputs, [f"{name}$out"], tags=tags))
    keys = draw(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True), unique=True))
    values = draw(st.lists(hostile_texts, min_size=len(keys), max_size=len(keys)))
    runtime = dict(zip(keys, values, strict=True))
    assume(all("{{" not in v for v in values))  # refused: Argo would substitute it
    assume(all("${" not in v for v in values))  # refused: OmegaConf (as kedro run --params)
    env = draw(st.sampled_from([None, "dev", "$(env)", "--env"]))
    grouping = draw(st.sampled_from(["none", "tag", "memory"]))
    registered = {"__default__": frozenset(names), "part": frozenset(names[: len(names) // 2])}
    project = facts(nodes, CONFIG, env=env, runtime_params=runtime, registered=registered)
    params = tuple(f"{k}={parameter_text(v)}" for k, v in runtime.items())
    return project, grouping, params


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(projects())
def test_random_projects_read_back_as_planned(
    case: tuple[ProjectFacts, str, tuple[str, ...]],
) -> None:
    project, grouping, params = case
    built = build_facts(project, group_by=grouping)
    assert_round_trip(built, params=params)
    assert read_pod_environment(pod_environment(built.manifest)) == expected_environment(built)


step_calls_strategy = st.builds(
    StepCall,
    pipeline=st.one_of(kedro_names, hostile_texts),
    nodes=st.lists(kedro_names, max_size=5).map(tuple),
    env=st.one_of(st.none(), hostile_texts.filter(bool)),
    params=st.lists(
        st.tuples(st.from_regex(r"[\w.-]+", fullmatch=True), hostile_texts).map("=".join),
        max_size=4,
    ).map(tuple),
    exports=st.lists(st.one_of(hostile_texts, st.text(max_size=8)), max_size=4).map(tuple),
    sweep=st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9._-]{1,100}", fullmatch=True)),
    shared=st.lists(st.one_of(hostile_texts, st.text(max_size=8)), max_size=3).map(tuple),
    result_parameters=st.lists(st.one_of(hostile_texts, st.text(max_size=8)), max_size=3).map(
        tuple
    ),
    result_artifacts=st.lists(st.one_of(hostile_texts, st.text(max_size=8)), max_size=3).map(tuple),
).map(lambda call: call if call.sweep else dataclasses.replace(call, shared=()))


@settings(max_examples=150, deadline=None)
@given(step_calls_strategy)
def test_step_arguments_parse_back_to_the_same_call(call: StepCall) -> None:
    args = step_arguments(call)
    assert parse_step_arguments(args) == call
    assert all(a.startswith("--") for a in args[1:]), "every option is one --flag=value item"


@settings(max_examples=100, deadline=None)
@given(
    st.builds(
        PodEnvironment,
        run_id=hostile_texts.filter(bool),
        workflow_name=hostile_texts,
        created=st.sampled_from(["2024-05-01T10:00:00Z", ""]),
        commit_id=st.sampled_from(["0123abc", "0123abc-dirty", ""]),
        pipeline=st.one_of(kedro_names, hostile_texts),
        data_root=st.sampled_from([None, "s3://b/p", "/mnt/data", "gs://b"]),
        compression=st.sampled_from(["none", "zlib", "lz4"]),
        pin_versions=st.lists(st.one_of(hostile_texts, st.text(max_size=6)), max_size=3).map(tuple),
        mlflow=st.booleans(),
        memoize=st.booleans(),
        memo_max_age=st.one_of(st.none(), st.integers(min_value=0, max_value=10**9)),
    ).map(lambda env: env if env.memoize else dataclasses.replace(env, memo_max_age=None))
)
def test_pod_environment_reads_back_as_written(values: PodEnvironment) -> None:
    entries = pod_environment_entries(values)
    names = [e["name"] for e in entries]
    assert len(set(names)) == len(names)
    assert read_pod_environment({e["name"]: e["value"] for e in entries}) == values


def round_trip_parameter(value: Any) -> Any:
    """Compile ``value`` as a runtime parameter; what the pod's parser makes of it."""
    runtime = {"key": value}
    built = build_facts(facts(chain(1), CONFIG, runtime_params=runtime))
    params = [f"{k}={parameter_text(v)}" for k, v in flatten(runtime).items()]
    (call,) = assert_round_trip(built, params=params).values()
    return runtime_params(call.params)["key"]


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        hostile_texts,
        st.text(max_size=12),
        st.integers(),
        st.floats(allow_nan=False),
        st.booleans(),
        st.none(),
        st.lists(st.one_of(st.integers(), hostile_texts), max_size=3),
        st.dictionaries(st.from_regex(r"[a-z]{1,4}", fullmatch=True), st.integers(), max_size=2),
    )
)
def test_parameter_values_reach_the_pod_unchanged(value: Any) -> None:
    if isinstance(value, str):
        assume("{{" not in value)  # refused at compile time (Argo would substitute it)
        assume("${" not in value)  # an OmegaConf interpolation, as with `kedro run --params`
    back = round_trip_parameter(value)
    assert back == value and type(back) is type(value), (value, back)


@pytest.mark.parametrize("value", ["1e3", "-1E5", "1e-3", "12e1"])
def test_float_looking_string_parameters_reach_the_pod_as_strings(value: str) -> None:
    assert round_trip_parameter(value) == value


@pytest.mark.parametrize("value", ["🚀: launch", ["🚀"], {"k": ["🚀"]}])
def test_parameters_with_emoji_reach_the_pod_unchanged(value: Any) -> None:
    assert round_trip_parameter(value) == value


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan], ids=["inf", "-inf", "nan"])
def test_non_finite_float_parameters_reach_the_pod_as_floats(value: float) -> None:
    back = round_trip_parameter(value)
    assert isinstance(back, float)
    assert back == value or (math.isnan(back) and math.isnan(value))


@pytest.mark.xfail(
    strict=True,
    reason="bug: an exposed parameter reaches the pod through {{workflow.parameters.*}} in "
    "the container args, which the kubelet then expands: '$$' becomes '$' and '$(VAR)' of "
    "a container env var is replaced (fixed parameters are escaped, exposed ones are not)",
)
@pytest.mark.parametrize("value", ["a$$b", "$(KEDRO_ARGO_PIPELINE)"])
def test_exposed_parameter_defaults_reach_the_pod_unchanged(value: str) -> None:
    project = facts(chain(1), {**CONFIG, "parameters": ["p"]}, parameters={"p": value})
    (call,) = assert_round_trip(build_facts(project), params=[f"p={value}"]).values()
    assert runtime_params(call.params) == {"p": value}


@pytest.mark.parametrize(
    "call",
    [
        StepCall("__default__", nodes=(TWO_DASHES,)),
        StepCall(TWO_DASHES, nodes=("a",)),
        StepCall("__default__", nodes=("a",), env=TWO_DASHES),
    ],
    ids=["node", "pipeline", "env"],
)
def test_a_value_of_two_dashes_reads_back(call: StepCall) -> None:
    assert parse_step_arguments(step_arguments(call)) == call


def test_a_step_of_the_node_named_two_dashes_reads_back() -> None:
    built = build_facts(facts([node(TWO_DASHES, ["raw"], ["out"])], CONFIG))
    assert_round_trip(built)


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["run", "--pipeline=p"],
        ["step"],  # --pipeline is required
        ["step", "--pipeline=p", "--unknown=1"],
        ["step", "--pipeline=p", "extra"],
        ["step", "--pipeline=p", "--param=novalue"],
        ["step", "--pipeline=p", "--param==value"],
        ["step", "--pipeline=p", "--export=not json"],
        ["step", "--pipeline=p", '--export={"a": 1}'],
        ["step", "--pipeline=p", "--export=[1]"],
        ["step", "--pipeline=p", "--sweep=a/b"],  # a branch label is one path segment
        ["step", "--pipeline=p", "--sweep="],
        ["step", "--pipeline=p", '--shared=["a"]'],  # shared inputs belong to a sweep
        ["step", "--pipeline=p", "--sweep=b", "--shared=[1]"],
    ],
)
def test_malformed_arguments_are_contract_errors(argv: list[str]) -> None:
    with pytest.raises(ContractError):
        parse_step_arguments(argv)


def test_a_pod_outside_a_workflow_run_is_told_so() -> None:
    with pytest.raises(ContractError, match=contract.RUN_ID_ENV):
        read_pod_environment({contract.PIPELINE_ENV: "__default__"})


@pytest.mark.parametrize("raw", ["d", '{"d": 1}', "[1]"])
def test_pin_versions_must_be_a_json_list_of_names(raw: str) -> None:
    with pytest.raises(ContractError, match=contract.PIN_VERSIONS_ENV):
        read_pod_environment({contract.RUN_ID_ENV: "uid", contract.PIN_VERSIONS_ENV: raw})


def test_a_parameter_value_the_pod_cannot_read_back_is_refused_at_compile_time() -> None:
    """`${` starts an OmegaConf interpolation in `--param` (as in `kedro run --params`): the
    pod could not read the value back, so compile says so instead of the pod failing."""
    with pytest.raises(CompileError, match=r"Parameter value 'a\$\{b' cannot be passed"):
        build_facts(facts(chain(1), CONFIG, runtime_params={"k": "a${b"}))


# --------------------------------------------------------------------------- kedro-mlflow


def mlflow_template_calls(manifest: Mapping[str, Any]) -> dict[str, contract.MlflowCall]:
    """Template name → what the pod of each template running an MLflow command reads."""
    globals_ = {**workflow_globals(manifest), "workflow.status": "Failed"}
    out = {}
    for template in manifest["spec"]["templates"]:
        args = (template.get("container") or {}).get("args") or []
        if args[:1] and args[0] in contract.MLFLOW_COMMANDS:
            scope = Scope(globals_, exit_handler=True)
            env = pod_environment(manifest)
            env.update(resolve_env(template["container"].get("env", []), scope))
            resolved = [expand_k8s(substitute(a, scope, template["name"]), env) for a in args]
            out[template["name"]] = contract.parse_mlflow_arguments(resolved)
    return out


def test_mlflow_start_and_end_read_back_with_the_steps_env_and_parameters() -> None:
    project = exporting_project(mlflow=True)
    config = {**CONFIG, "parameters": ["model.lr", "price$"]}  # no exit pipeline
    built = build_facts(dataclasses.replace(project, config=parse_config(config, source="x")))
    calls = mlflow_template_calls(built.manifest)
    assert calls == {
        "mlflow-start": contract.MlflowCall(
            contract.MLFLOW_START_COMMAND, env="dev$(HOME)", params=EXPORT_PARAMS
        ),
        "exit-handler": contract.MlflowCall(
            contract.MLFLOW_END_COMMAND, env="dev$(HOME)", params=EXPORT_PARAMS
        ),
    }
    assert built.manifest["spec"]["onExit"] == "exit-handler"
    end = next(t for t in built.manifest["spec"]["templates"] if t["name"] == "exit-handler")
    assert end["container"]["env"] == [
        {"name": contract.WORKFLOW_STATUS_ENV, "value": "{{workflow.status}}"}
    ]


def test_with_mlflow_steps_read_back_as_planned_and_every_pod_shares_the_run() -> None:
    built = build_facts(exporting_project(mlflow=True), group_by="tag")
    manifest = copy.deepcopy(built.manifest)
    root = next(t for t in manifest["spec"]["templates"] if t["name"] == "kedro-pipeline")
    # the step round trip looks at step tasks only
    root["dag"]["tasks"] = [t for t in root["dag"]["tasks"] if t["name"] != "mlflow-start"]
    assert_round_trip(dataclasses.replace(built, manifest=manifest), params=EXPORT_PARAMS)
    pod = read_pod_environment(pod_environment(built.manifest))
    assert pod == dataclasses.replace(expected_environment(built), mlflow=True)
    # the exit pipeline's step ends the run: no mlflow-end
    assert list(mlflow_template_calls(built.manifest)) == ["mlflow-start"]


mlflow_calls_strategy = st.builds(
    contract.MlflowCall,
    command=st.sampled_from(contract.MLFLOW_COMMANDS),
    env=st.one_of(st.none(), hostile_texts.filter(bool)),
    params=st.lists(
        st.tuples(st.from_regex(r"[\w.-]+", fullmatch=True), hostile_texts).map("=".join),
        max_size=4,
    ).map(tuple),
)


@settings(max_examples=100, deadline=None)
@given(mlflow_calls_strategy)
def test_mlflow_arguments_parse_back_to_the_same_call(call: contract.MlflowCall) -> None:
    args = contract.mlflow_arguments(call)
    assert contract.parse_mlflow_arguments(args) == call
    assert all(a.startswith("--") for a in args[1:]), "every option is one --flag=value item"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["step", "--pipeline=p"],
        ["mlflow-start", "--pipeline=p"],  # the pipeline comes from the pod's env
        ["mlflow-end", "--nodes=a"],
        ["mlflow-start", "--env=a", "--env=b"],
        ["mlflow-end", "--param=novalue"],
        ["mlflow-start", "extra"],
    ],
)
def test_malformed_mlflow_arguments_are_contract_errors(argv: list[str]) -> None:
    with pytest.raises(ContractError):
        contract.parse_mlflow_arguments(argv)


def test_mlflow_commands_are_not_steps() -> None:
    with pytest.raises(ContractError):
        parse_step_arguments(["mlflow-start"])
    with pytest.raises(ContractError):
        contract.mlflow_arguments(contract.MlflowCall("step"))


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("TRUE", True), ("", False)])
def test_the_mlflow_flag_reads_back(raw: str, expected: bool) -> None:
    pod = read_pod_environment({contract.RUN_ID_ENV: "uid", contract.MLFLOW_ENV: raw})
    assert pod.mlflow is expected
    entries = pod_environment_entries(pod)
    assert (contract.MLFLOW_ENV in {e["name"] for e in entries}) is expected
