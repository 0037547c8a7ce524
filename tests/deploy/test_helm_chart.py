"""The Helm chart (deploy/helm/baton), rendered by Helm's own engine: helm-python-sdk embeds Helm v4 (libhelm_c), so
`helm template` and `helm lint` run offline with no helm binary. Every rendered manifest is validated strictly
(unknown fields rejected) against the schemas of pinned Kubernetes versions that kubernetes-validate ships offline.

ServiceMonitor is the Prometheus Operator's CRD, absent from Kubernetes' schemas (kubernetes-validate would only
warn "couldn't find schema" and pass it): it is left out of the schema check by name (CRD_KINDS), and its shape is
asserted here instead, against the Services it must select.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from baton.temporal import TemporalSettings
from bot.settings import BotSettings, NotifierSettings
from workers.config import BUNDLED_CONFIG, WorkerSettings
from workers.versioning import VersioningSettings

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "baton"
PRODUCTION = CHART / "values-production.yaml"
RELEASE, NAMESPACE = "baton", "baton"
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
"""The chart's kubeVersion floor (Chart.yaml) and the newest version kubernetes-validate 1.37 ships."""
CRD_KINDS = frozenset({"ServiceMonitor"})
KUBERNETES_VALIDATE = Path(sys.executable).parent / "kubernetes-validate"

VARIABLE_CONFIG_KEYS = {
    "temporal_address": "TEMPORAL_ADDRESS",
    "temporal_namespace": "TEMPORAL_NAMESPACE",
    "task_queue": "BATON_TASK_QUEUE",
    "model": "BATON_MODEL",
    "log_format": "BATON_LOG_FORMAT",
    "metrics_port": "BATON_METRICS_PORT",
    "drain_timeout_s": "BATON_DRAIN_TIMEOUT_S",
}
"""Keys of workers/worker.yaml the chart sets as environment variables instead: the ones every process shares, and
the two Kubernetes must agree with (the probes' port, the grace period). The image sets BATON_METRICS_PORT itself,
and a variable overrides the YAML, so the chart must set it."""
CHART_CONFIG_CHOICES = {"checkpointer": "/var/lib/baton/checkpoints.sqlite"}
"""Where the chart's worker config departs from the bundled one: SQLite on a writable volume."""
PROCESS_ENV = {"HOME", "PYTHONDONTWRITEBYTECODE", "BATON_LOG_FORMAT"}
"""Read by Python, or by every process's logging set-up (baton.logfmt), rather than by a settings class."""
SECRET_VARIABLES = {
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "TEMPORAL_API_KEY",
    "OPENAI_API_KEY",
    "BATON_PAYLOAD_KEYS",
    "BATON_CODEC_AUTH_TOKEN",
    "BATON_CHECKPOINTER",
}

Manifest = dict[str, Any]


def render(values: dict[str, Any] | None = None) -> list[Manifest]:
    """`helm template` through Helm's engine: every non-empty document of every template."""
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    manifests = (text for name, text in rendered.items() if not name.endswith("/NOTES.txt"))
    return [doc for text in manifests for doc in yaml.safe_load_all(text) if doc]


def production_values() -> dict[str, Any]:
    return helm.values_from_yaml(PRODUCTION.read_text())


def one(manifests: list[Manifest], kind: str, component: str | None = None) -> Manifest:
    found = list(of_kind(manifests, kind, component))
    assert len(found) == 1, f"expected one {kind} {component or ''}, found {len(found)}"
    return found[0]


def of_kind(manifests: list[Manifest], kind: str, component: str | None = None) -> Iterator[Manifest]:
    for manifest in manifests:
        labels = manifest["metadata"].get("labels", {})
        if manifest["kind"] == kind and component in (None, labels.get("app.kubernetes.io/component")):
            yield manifest


def container(deployment: Manifest) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def env_of(deployment: Manifest) -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in container(deployment)["env"]}


def worker_config(manifests: list[Manifest]) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(one(manifests, "ConfigMap", "worker")["data"]["worker.yaml"])
    return config


@pytest.fixture(scope="module")
def default_manifests() -> list[Manifest]:
    return render()


@pytest.fixture(scope="module")
def production_manifests() -> list[Manifest]:
    return render(production_values())


@pytest.fixture(params=["default", "production"])
def manifests(request: pytest.FixtureRequest) -> list[Manifest]:
    result: list[Manifest] = request.getfixturevalue(f"{request.param}_manifests")
    return result


MTLS_SOCKET_MODE = {
    "slack": {"socketMode": True},
    "temporal": {"mtls": {"existingSecret": "baton-temporal-mtls", "caKey": "ca.crt"}, "serverName": "temporal"},
    "worker": {"sqlite": {"persistence": False}},
    "metrics": {"serviceMonitor": {"enabled": True}},
}
"""The other branches of the templates: Socket Mode, mTLS files, SQLite on an emptyDir."""


def kinds(manifests: list[Manifest]) -> list[tuple[str, str]]:
    return sorted((m["kind"], m["metadata"]["name"]) for m in manifests)


# Helm's own checks and the Kubernetes schemas


def test_default_values_render_the_three_processes_and_nothing_optional(default_manifests: list[Manifest]) -> None:
    assert kinds(default_manifests) == [
        ("ConfigMap", "baton-worker"),
        ("Deployment", "baton-bot"),
        ("Deployment", "baton-notifier"),
        ("Deployment", "baton-worker"),
        ("PersistentVolumeClaim", "baton-worker-data"),
        ("PodDisruptionBudget", "baton-bot"),
        ("PodDisruptionBudget", "baton-notifier"),
        ("PodDisruptionBudget", "baton-worker"),
        ("Service", "baton-bot"),
        ("Service", "baton-notifier"),
        ("Service", "baton-worker"),
        ("ServiceAccount", "baton"),
    ]


def test_install_notes_say_where_slack_must_send_its_requests() -> None:
    def notes(values: dict[str, Any] | None) -> str:
        with helm.Chart.load(CHART) as chart:
            return chart.render(values, name=RELEASE, namespace=NAMESPACE)["baton/templates/NOTES.txt"]

    assert "https://baton.example.com/slack/events" in notes(production_values())
    assert "SQLite checkpoints" not in notes(production_values())
    assert "Socket Mode" in notes({"slack": {"socketMode": True}})
    assert "enable bot.ingress" in notes(None) and "SQLite checkpoints" in notes(None)


def test_production_values_add_ingress_autoscalers_and_the_service_monitor(
    production_manifests: list[Manifest],
) -> None:
    assert kinds(production_manifests) == [
        ("ConfigMap", "baton-worker"),
        ("Deployment", "baton-bot"),
        ("Deployment", "baton-notifier"),
        ("Deployment", "baton-worker"),
        ("HorizontalPodAutoscaler", "baton-bot"),
        ("HorizontalPodAutoscaler", "baton-worker"),
        ("Ingress", "baton-bot"),
        ("PodDisruptionBudget", "baton-bot"),
        ("PodDisruptionBudget", "baton-notifier"),
        ("PodDisruptionBudget", "baton-worker"),
        ("Service", "baton-bot"),
        ("Service", "baton-notifier"),
        ("Service", "baton-worker"),
        ("ServiceAccount", "baton"),
        ("ServiceMonitor", "baton"),
    ]


@pytest.mark.parametrize("kube_version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("values_name", ["default", "production"])
def test_helm_lint_strict_reports_no_warning_or_error(values_name: str, kube_version: str) -> None:
    values = production_values() if values_name == "production" else None
    report = helm.lint(CHART, values, strict=True, namespace=NAMESPACE, kube_version=f"v{kube_version}")
    assert report["total_charts_linted"] == 1
    assert report["errors"] == []
    # Severity 1 is information ("icon is recommended"); 2 a warning, 3 an error.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_helm_lint_reports_a_broken_template(tmp_path: Path) -> None:
    """The lint really runs the templates: a chart with a template error fails it."""
    with helm.Chart.load(CHART) as chart:
        broken = Path(chart.save_dir(tmp_path))
    (broken / "templates" / "broken.yaml").write_text("{{ .Values.nothing.here }}\n")
    report = helm.lint(broken, strict=True)
    assert report["errors"] or any(m["severity"] == 3 for m in report["messages"])


def kubernetes_validate(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    versions = [arg for version in KUBERNETES_VERSIONS for arg in ("-k", version)]
    return subprocess.run(
        [str(KUBERNETES_VALIDATE), "--strict", *versions, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("values_name", ["default", "production", "mTLS and Socket Mode"])
def test_every_manifest_passes_kubernetes_validate_strict(values_name: str, tmp_path: Path) -> None:
    values = {"default": None, "production": production_values(), "mTLS and Socket Mode": MTLS_SOCKET_MODE}
    checked = [m for m in render(values[values_name]) if m["kind"] not in CRD_KINDS]
    paths = []
    for index, manifest in enumerate(checked):
        path = tmp_path / f"{index:02d}-{manifest['kind'].lower()}.yaml"
        path.write_text(yaml.safe_dump(manifest))
        paths.append(path)
    result = kubernetes_validate(paths)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line for line in lines if not line.startswith("INFO ")] == [], "a WARN is a kind with no schema"
    passed = [line for line in lines if " passed for resource " in line]
    assert len(passed) == len(checked) * len(KUBERNETES_VERSIONS)
    for version in KUBERNETES_VERSIONS:
        minor = version.rsplit(".", 1)[0]
        assert sum(line.endswith(f"against version {minor}") for line in passed) == len(checked)


def test_kubernetes_validate_strict_rejects_a_field_kubernetes_does_not_know(
    default_manifests: list[Manifest],
    tmp_path: Path,
) -> None:
    """The schema check bites: a misspelt securityContext field fails it (without --strict it would pass)."""
    worker = copy.deepcopy(one(default_manifests, "Deployment", "worker"))  # the fixture is shared
    container(worker)["securityContext"]["readOnlyRootFileSystem"] = True
    path = tmp_path / "worker.yaml"
    path.write_text(yaml.safe_dump(worker))
    result = kubernetes_validate([path])
    assert result.returncode != 0
    assert "'readOnlyRootFileSystem' was unexpected" in result.stdout


# What issue #12 asks of the chart


@pytest.mark.parametrize(
    ("values", "drain"),
    [
        (None, 30.0),
        (production_values(), 300.0),
        ({"worker": {"drainTimeoutSeconds": 7.5, "drainMarginSeconds": 1}}, 7.5),
    ],
)
def test_worker_grace_period_is_longer_than_its_drain_timeout(values: dict[str, Any] | None, drain: float) -> None:
    rendered = render(values)
    worker = one(rendered, "Deployment", "worker")
    assert float(env_of(worker)["BATON_DRAIN_TIMEOUT_S"]["value"]) == drain
    assert "drain_timeout_s" not in worker_config(rendered), "one place sets the drain: the variable"
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > drain


@pytest.mark.parametrize(
    ("values", "build"),
    [(None, "0.1.0"), ({"image": {"tag": "2.4.0"}}, "2.4.0"), ({"worker": {"versioning": {"buildId": "b-7"}}}, "b-7")],
)
def test_workers_register_the_image_as_their_build_and_take_over_when_they_start(
        values: dict[str, Any] | None, build: str) -> None:
    """A rolling update to a new image is a new Worker Deployment Version that becomes current as its pods start
    (every workflow type is AUTO_UPGRADE), while the old pods drain (docs/upgrading.md)."""
    env = env_of(one(render(values), "Deployment", "worker"))
    assert env["BATON_BUILD_ID"]["value"] == build
    assert (env["BATON_DEPLOYMENT_NAME"]["value"], env["BATON_MAKE_CURRENT"]["value"]) == ("baton", "always")


def test_chart_refuses_a_worker_grace_period_no_longer_than_the_drain(tmp_path: Path) -> None:
    with pytest.raises(helm.HelmValuesError, match="drainMarginSeconds"):
        render({"worker": {"drainMarginSeconds": 0}})
    # The template refuses it too, for an install run with --skip-schema-validation.
    with helm.Chart.load(CHART) as chart:
        unchecked = Path(chart.save_dir(tmp_path))
    (unchecked / "values.schema.json").unlink()
    with helm.Chart.load(unchecked) as chart, pytest.raises(helm.HelmRenderError, match="at least 1"):
        chart.render({"worker": {"drainMarginSeconds": 0}})


def test_values_schema_knows_exactly_the_worker_config_keys_the_chart_leaves_to_the_yaml() -> None:
    bundled = yaml.safe_load(BUNDLED_CONFIG.read_text())
    with helm.Chart.load(CHART) as chart:
        schema = chart.schema
    assert schema is not None
    config = schema["properties"]["worker"]["properties"]["config"]
    assert config["additionalProperties"] is False
    assert set(config["properties"]) == set(bundled) - set(VARIABLE_CONFIG_KEYS)


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"worker": {"config": {"drain_timeout_s": 600}}}, "'drain_timeout_s' not allowed"),
        ({"worker": {"config": {"max_concurent_activities": 5}}}, "'max_concurent_activities' not allowed"),
        ({"tempral": {"address": "elsewhere:7233"}}, "'tempral' not allowed"),
        ({"logFormat": "xml"}, "logFormat"),
        ({"bot": {"ingress": {"paths": [{"path": "slack", "pathType": "Exact"}]}}}, "path"),
    ],
)
def test_values_schema_refuses_a_misspelt_or_misplaced_value(values: dict[str, Any], complaint: str) -> None:
    """A key the worker would ignore (pydantic drops unknown keys) or the environment would override is refused
    at install time, naming the key."""
    with pytest.raises(helm.HelmValuesError, match=re.escape(complaint)):
        render(values)


def assert_probes_on(deployment: Manifest, port_name: str, variable: str) -> None:
    main = container(deployment)
    for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        assert main[probe]["httpGet"] == {"path": path, "port": port_name}, probe
    [port] = main["ports"]
    assert port["name"] == port_name
    assert env_of(deployment)[variable]["value"] == str(port["containerPort"]), "the process serves that port"


def test_probes_ask_the_health_endpoints_on_the_port_each_process_serves(manifests: list[Manifest]) -> None:
    assert_probes_on(one(manifests, "Deployment", "bot"), "http", "BATON_HTTP_PORT")
    assert_probes_on(one(manifests, "Deployment", "worker"), "metrics", "BATON_METRICS_PORT")
    assert_probes_on(one(manifests, "Deployment", "notifier"), "metrics", "BATON_METRICS_PORT")


def test_a_socket_mode_bot_is_probed_on_its_metrics_port_and_gets_no_ingress() -> None:
    bot = one(render({"slack": {"socketMode": True}}), "Deployment", "bot")
    assert_probes_on(bot, "metrics", "BATON_METRICS_PORT")
    assert "BATON_HTTP_PORT" not in env_of(bot), "no HTTP server in Socket Mode"
    with pytest.raises(helm.HelmRenderError, match=r"bot\.ingress needs the bot in HTTP mode"):
        render({"slack": {"socketMode": True}, "bot": {"ingress": {"enabled": True}}})


def test_every_pod_runs_as_non_root_on_a_read_only_root_filesystem(manifests: list[Manifest]) -> None:
    for deployment in of_kind(manifests, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        security = container(deployment)["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["runAsNonRoot"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        # Every process may write to /tmp, an emptyDir (a worker's SQLite checkpoints have their own volume, below).
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        mounts = {mount["mountPath"]: mount["name"] for mount in container(deployment)["volumeMounts"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]
        assert env_of(deployment)["HOME"]["value"] == "/tmp"


def checkpoint_volume(manifests: list[Manifest]) -> dict[str, Any]:
    worker = one(manifests, "Deployment", "worker")
    checkpoints = Path(worker_config(manifests)["checkpointer"])
    mounts = {mount["mountPath"]: mount["name"] for mount in container(worker)["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in worker["spec"]["template"]["spec"]["volumes"]}
    volume: dict[str, Any] = volumes[mounts[str(checkpoints.parent)]]
    return volume


def test_sqlite_checkpoints_outlive_the_worker_pod_on_a_volume_claim(default_manifests: list[Manifest]) -> None:
    """A task waiting for a person resumes from its checkpoint, maybe days and several deploys later."""
    claim = one(default_manifests, "PersistentVolumeClaim", "worker")
    assert checkpoint_volume(default_manifests)["persistentVolumeClaim"] == {"claimName": claim["metadata"]["name"]}
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    worker = one(default_manifests, "Deployment", "worker")
    assert worker["spec"]["strategy"] == {"type": "Recreate"}, "one pod holds the volume at a time"
    assert worker["spec"]["replicas"] == 1


def test_sqlite_checkpoints_without_persistence_go_to_an_empty_dir() -> None:
    rendered = render({"worker": {"sqlite": {"persistence": False}}})
    assert "emptyDir" in checkpoint_volume(rendered)
    assert not list(of_kind(rendered, "PersistentVolumeClaim"))


@pytest.mark.parametrize("workers", [{"replicas": 2}, {"autoscaling": {"enabled": True}}])
def test_chart_refuses_several_workers_on_sqlite_checkpoints(workers: dict[str, Any]) -> None:
    """A task's next run_agent may land on any worker: it must find the checkpoint the last one wrote."""
    with pytest.raises(helm.HelmRenderError, match="several workers need a shared checkpointer"):
        render({"worker": workers})
    shared = render({"worker": {**workers, "config": {"checkpointer": "postgresql://baton@db:5432/baton"}}})
    assert not list(of_kind(shared, "PersistentVolumeClaim"))


def test_production_workers_share_postgresql_checkpoints_and_roll(production_manifests: list[Manifest]) -> None:
    assert not list(of_kind(production_manifests, "PersistentVolumeClaim"))
    worker = one(production_manifests, "Deployment", "worker")
    assert "strategy" not in worker["spec"], "a rolling update: the new workers start before the old ones drain"
    assert env_of(worker)["BATON_CHECKPOINTER"]["valueFrom"]["secretKeyRef"]["name"] == "baton-postgres"


def test_every_container_has_resource_requests_and_limits(manifests: list[Manifest]) -> None:
    for deployment in of_kind(manifests, "Deployment"):
        resources = container(deployment)["resources"]
        for bound in ("requests", "limits"):
            assert set(resources[bound]) == {"cpu", "memory"}, (deployment["metadata"]["name"], bound)


def test_secrets_are_only_referenced_by_existing_secret_names(manifests: list[Manifest]) -> None:
    assert not list(of_kind(manifests, "Secret")), "the chart never creates a Secret"
    for deployment in of_kind(manifests, "Deployment"):
        for name, variable in env_of(deployment).items():
            if name in SECRET_VARIABLES:
                assert "value" not in variable and variable["valueFrom"]["secretKeyRef"]["name"], name


def test_production_reads_each_secret_from_the_secret_its_values_name(production_manifests: list[Manifest]) -> None:
    def reference(component: str, variable: str) -> tuple[str, str]:
        ref = env_of(one(production_manifests, "Deployment", component))[variable]["valueFrom"]["secretKeyRef"]
        return ref["name"], ref["key"]

    for component in ("bot", "worker", "notifier"):
        assert reference(component, "TEMPORAL_API_KEY") == ("baton-temporal-cloud", "TEMPORAL_API_KEY")
        assert reference(component, "OPENAI_API_KEY") == ("baton-openai", "OPENAI_API_KEY")
        assert reference(component, "BATON_PAYLOAD_KEYS") == ("baton-payload-keys", "BATON_PAYLOAD_KEYS")
    for component in ("bot", "notifier"):
        assert reference(component, "SLACK_BOT_TOKEN") == ("baton-slack", "SLACK_BOT_TOKEN")
    assert reference("bot", "SLACK_SIGNING_SECRET") == ("baton-slack", "SLACK_SIGNING_SECRET")
    assert reference("bot", "BATON_CODEC_AUTH_TOKEN") == ("baton-payload-keys", "BATON_CODEC_AUTH_TOKEN")
    assert reference("worker", "BATON_CHECKPOINTER") == ("baton-postgres", "BATON_CHECKPOINTER")


def test_the_notifier_reads_the_bot_settings_its_activities_check(production_manifests: list[Manifest]) -> None:
    bot = env_of(one(production_manifests, "Deployment", "bot"))
    notifier = env_of(one(production_manifests, "Deployment", "notifier"))
    for name in ("BATON_ADMINS", "BATON_APPROVER_GROUPS", "BATON_SLACK_TEAM_ID", "BATON_NOTIFY_TASK_QUEUE"):
        assert notifier[name] == bot[name], name
    own = env_of(
        one(
            render({"bot": {"env": {"BATON_ADMINS": "U1"}}, "notifier": {"env": {"BATON_ADMINS": "U2"}}}),
            "Deployment",
            "notifier",
        )
    )
    assert own["BATON_ADMINS"]["value"] == "U2", "notifier.env wins over bot.env"


def test_extra_env_reaches_every_container() -> None:
    extra: list[dict[str, Any]] = [
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector:4318"},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    for deployment in of_kind(render({"extraEnv": extra}), "Deployment"):
        env = env_of(deployment)
        assert [env[item["name"]] for item in extra] == extra


def test_socket_mode_gives_the_bot_the_app_token_instead_of_the_signing_secret() -> None:
    env = env_of(one(render({"slack": {"socketMode": True}}), "Deployment", "bot"))
    assert env["SLACK_APP_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "baton-slack", "key": "SLACK_APP_TOKEN"}
    assert "SLACK_SIGNING_SECRET" not in env


def test_temporal_mtls_certificates_are_files_from_the_secret_the_tls_paths_name() -> None:
    values = {
        "temporal": {
            "address": "baton-prod.a1b2c.tmprl.cloud:7233",
            "namespace": "baton-prod.a1b2c",
            "mtls": {"existingSecret": "baton-temporal-mtls", "caKey": "ca.crt"},
        }
    }
    for deployment in of_kind(render(values), "Deployment"):
        env = env_of(deployment)
        assert "TEMPORAL_API_KEY" not in env
        mounts = {mount["name"]: mount for mount in container(deployment)["volumeMounts"]}
        volumes = {volume["name"]: volume for volume in deployment["spec"]["template"]["spec"]["volumes"]}
        tls = mounts["temporal-tls"]
        assert tls["readOnly"] is True
        assert volumes["temporal-tls"]["secret"]["secretName"] == "baton-temporal-mtls"
        for variable, key in (
            ("TEMPORAL_TLS_CERT_PATH", "tls.crt"),
            ("TEMPORAL_TLS_KEY_PATH", "tls.key"),
            ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", "ca.crt"),
        ):
            assert env[variable]["value"] == f"{tls['mountPath']}/{key}"


def test_worker_configmap_is_the_bundled_worker_yaml_with_the_chart_choices(
    default_manifests: list[Manifest],
) -> None:
    """Same keys as workers/worker.yaml (less the ones every process shares, set as variables), the same values but
    for the chart's documented choices: a new key in worker.yaml that the chart misses fails here."""
    bundled = yaml.safe_load(BUNDLED_CONFIG.read_text())
    rendered = worker_config(default_manifests)
    assert set(rendered) | set(VARIABLE_CONFIG_KEYS) == set(bundled)
    assert not set(rendered) & set(VARIABLE_CONFIG_KEYS)
    assert {key: value for key, value in rendered.items() if key not in CHART_CONFIG_CHOICES} == {
        key: value for key, value in bundled.items() if key in rendered and key not in CHART_CONFIG_CHOICES
    }
    assert {key: rendered[key] for key in CHART_CONFIG_CHOICES} == CHART_CONFIG_CHOICES
    env = env_of(one(default_manifests, "Deployment", "worker"))
    assert set(VARIABLE_CONFIG_KEYS.values()) <= set(env)


def test_worker_reads_the_rendered_configmap_as_its_config(
    manifests: list[Manifest],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in os.environ:
        if name.startswith(("TEMPORAL_", "BATON_", "OPENAI_")):
            monkeypatch.delenv(name)
    worker = one(manifests, "Deployment", "worker")
    env = env_of(worker)
    mount = next(m for m in container(worker)["volumeMounts"] if m["name"] == "config")
    assert env["BATON_WORKER_CONFIG"]["value"] == mount["mountPath"]
    config = tmp_path / mount["subPath"]
    config.write_text(one(manifests, "ConfigMap", "worker")["data"][mount["subPath"]])
    monkeypatch.setenv("BATON_WORKER_CONFIG", str(config))
    for name in VARIABLE_CONFIG_KEYS.values():
        monkeypatch.setenv(name, env[name]["value"])
    settings = WorkerSettings()
    rendered = worker_config(manifests)
    assert (settings.agents, settings.checkpointer) == (rendered["agents"], rendered["checkpointer"])
    assert settings.max_concurrent_activities == rendered["max_concurrent_activities"]
    assert settings.drain_timeout_s == float(env["BATON_DRAIN_TIMEOUT_S"]["value"])
    assert settings.metrics_port == int(env["BATON_METRICS_PORT"]["value"])
    assert settings.temporal_address == env["TEMPORAL_ADDRESS"]["value"]


def test_every_variable_the_chart_sets_is_one_the_process_reads(manifests: list[Manifest]) -> None:
    temporal = {name.upper() for name in TemporalSettings.model_fields} | {"BATON_TASK_QUEUE"}
    bot = {name.upper() for name in BotSettings.model_fields}
    notifier = {name.upper() for name in NotifierSettings.model_fields}
    worker = {
        str(choice)
        for field in [*WorkerSettings.model_fields.values(), *VersioningSettings.model_fields.values()]
        if field.validation_alias is not None
        for choice in getattr(field.validation_alias, "choices", [])
        if str(choice).isupper()
    } | {"BATON_WORKER_CONFIG"}
    known = {"bot": bot, "worker": worker, "notifier": notifier}
    for deployment in of_kind(manifests, "Deployment"):
        component = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        unknown = set(env_of(deployment)) - known[component] - temporal - PROCESS_ENV
        assert unknown == set(), component


def test_worker_config_change_rolls_the_workers() -> None:
    def checksum(values: dict[str, Any] | None) -> str:
        pod = one(render(values), "Deployment", "worker")["spec"]["template"]
        annotation: str = pod["metadata"]["annotations"]["checksum/config"]
        return annotation

    assert checksum(None) == checksum(None)
    assert checksum(None) != checksum({"worker": {"config": {"max_concurrent_activities": 50}}})


def test_production_runs_three_bots_or_more_behind_ingress_with_autoscaling_and_budgets(
    production_manifests: list[Manifest],
) -> None:
    deployments = {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: d for d in of_kind(production_manifests, "Deployment")
    }
    for component in ("bot", "worker"):
        hpa = one(production_manifests, "HorizontalPodAutoscaler", component)
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": deployments[component]["metadata"]["name"],
        }
        assert hpa["spec"]["minReplicas"] >= 3
        assert "replicas" not in deployments[component]["spec"], "the autoscaler owns the replica count"
    for component, deployment in deployments.items():
        pdb = one(production_manifests, "PodDisruptionBudget", component)
        assert (
            pdb["spec"]["selector"]["matchLabels"].items()
            <= deployment["spec"]["template"]["metadata"]["labels"].items()
        )
    bot_budget = one(production_manifests, "PodDisruptionBudget", "bot")["spec"]
    assert bot_budget["minAvailable"] == 2 and "maxUnavailable" not in bot_budget, "evictions leave two bots answering"
    assert deployments["bot"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0

    ingress = one(production_manifests, "Ingress", "bot")
    [rule] = ingress["spec"]["rules"]
    paths = {path["path"]: path for path in rule["http"]["paths"]}
    assert paths["/slack/events"]["pathType"] == "Exact"
    assert not any(re.match(r"/(healthz|readyz|metrics)", path) for path in paths), "health stays in the cluster"
    service = one(production_manifests, "Service", "bot")
    for path in paths.values():
        assert path["backend"]["service"] == {"name": service["metadata"]["name"], "port": {"name": "http"}}
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"]]

    temporal = env_of(deployments["worker"])
    assert temporal["TEMPORAL_ADDRESS"]["value"].endswith(".api.temporal.io:7233")
    assert "TEMPORAL_TLS_CERT_PATH" not in temporal


def test_service_monitor_scrapes_the_metrics_port_of_every_process(production_manifests: list[Manifest]) -> None:
    monitor = one(production_manifests, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint == {"port": "metrics", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}
    selector = monitor["spec"]["selector"]["matchLabels"]
    selected = [
        s for s in of_kind(production_manifests, "Service") if selector.items() <= s["metadata"]["labels"].items()
    ]
    components = sorted(s["metadata"]["labels"]["app.kubernetes.io/component"] for s in selected)
    assert components == ["bot", "notifier", "worker"]
    for service in selected:
        component = service["metadata"]["labels"]["app.kubernetes.io/component"]
        [port] = [p for p in service["spec"]["ports"] if p["name"] == endpoint["port"]]
        deployment = one(production_manifests, "Deployment", component)
        assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        # In HTTP mode the bot serves /metrics on its Slack port; the others on BATON_METRICS_PORT.
        assert port["targetPort"] == ("http" if component == "bot" else "metrics")
        assert port["targetPort"] in {p["name"] for p in container(deployment)["ports"]}
