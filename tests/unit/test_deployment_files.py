"""deploy/container, deploy/compose and deploy/kubernetes checked against the code they run.

No container engine or cluster is needed (or available where this was written): these are
the facts that can be known from the files and the code alone. Every YAML parses; images
are pinned; every `contactmoment …` invocation is one the CLI parser accepts; every probe
asks a path the process serves, on the port it listens on with that file's environment;
every CONTACTMOMENT_* is a setting; secrets come only from secret sources; the kustomization,
the service-norm ConfigMap, Grafana's provisioning and Prometheus' scrape config point at
what exists. Whether the images build and the stacks come up is not tested here.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
import yaml
from pydantic import ValidationError
from starlette.routing import Match

from services.api.app import create_app
from services.cli import build_parser
from services.kafka.publisher import MemoryPublisher
from services.privacy.sealer import memory_sealer
from services.probes import probe_app
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_DIR = DEPLOY / "compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
K8S = DEPLOY / "kubernetes"
DOCKERFILE = DEPLOY / "container" / "Dockerfile"
YAML_FILES = sorted([*COMPOSE_DIR.rglob("*.y*ml"), *K8S.rglob("*.y*ml")])
SECRET_VARS = {"CONTACTMOMENT_API_TOKEN", "CONTACTMOMENT_PSEUDONYM_KEY", "POSTGRES_PASSWORD"}
WORKLOADS = {"Deployment", "StatefulSet", "Job"}

# The HTTP port of each long-running process: the Settings field that sets it.
HTTP_PORT_FIELD = {
    "api": "api_port",
    "worker": "worker_metrics_port",
    "projector": "projector_metrics_port",
}


# -- reading the files ---------------------------------------------------------------------


@dataclass
class Container:
    """One container of compose or Kubernetes that runs the contactmoment image."""

    where: str
    argvs: list[list[str]]  # each `contactmoment …` invocation, without the program name
    env: dict[str, str]
    probes: dict[str, tuple[str, int | str]] = field(default_factory=dict)  # kind → path, port
    ports: dict[str, int] = field(default_factory=dict)  # k8s container ports by name
    mounts: list[str] = field(default_factory=list)
    # Each file a secret puts into the container: its path → where it comes from
    # ("secret <name>/<key>" in Kubernetes, "secret <name>: <host file>" in compose).
    files: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # the pod's (Kubernetes)
    pod: dict[str, Any] = field(default_factory=dict)  # the pod spec (Kubernetes)

    @property
    def command(self) -> str:
        return self.argvs[-1][0]


@dataclass(frozen=True)
class Dockerfile:
    froms: list[str]
    env: dict[str, str]
    expose: set[int]
    entrypoint: list[str]
    cmd: list[str]
    copies: list[tuple[list[str], str]]  # (sources in the build context, destination)
    user: str


@cache
def dockerfile() -> Dockerfile:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    froms, env, expose, copies = [], {}, set(), []
    entrypoint: list[str] = []
    cmd: list[str] = []
    user = ""
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, rest = line.strip().partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            froms.append(rest.split()[0])
        elif instruction == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(rest))
        elif instruction == "EXPOSE":
            expose.update(int(port.split("/")[0]) for port in rest.split())
        elif instruction == "ENTRYPOINT":
            entrypoint = json.loads(rest)
        elif instruction == "CMD":
            cmd = json.loads(rest)
        elif instruction == "USER":
            user = rest.strip()
        elif instruction == "COPY" and "--from=" not in rest:
            *sources, destination = rest.split()
            copies.append((sources, destination))
    return Dockerfile(froms, env, expose, entrypoint, cmd, copies, user)


def _load_all(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


@cache
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


@cache
def k8s_docs() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, doc) for path in sorted(K8S.glob("*.yaml")) for doc in _load_all(path)]


def _k8s_named(kind: str, name: str) -> dict[str, Any]:
    found = [d for _, d in k8s_docs() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} named {name}, found {len(found)}"
    return found[0]


def _invocations(entrypoint: list[str], command: list[str]) -> list[list[str]]:
    """The `contactmoment` argv lists a container runs (a shell script may hold several)."""
    if entrypoint[:2] in (["/bin/sh", "-c"], ["sh", "-c"]):
        scripts = command or entrypoint[2:]
        assert len(scripts) == 1, f"sh -c takes one script, got {scripts}"
        steps = [shlex.split(step) for step in re.split(r"&&|;", scripts[0]) if step.strip()]
    else:
        steps = [entrypoint + command]
    for step in steps:
        assert step[0] == "contactmoment", f"{step} does not run contactmoment"
    return [step[1:] for step in steps]


def _is_ours(image: str) -> bool:
    return image.split(":")[0].rsplit("/", 1)[-1] == "contactmoment"


def _compose_secret_files(service: dict[str, Any]) -> dict[str, str]:
    """Container path → source of each secret a compose service mounts."""
    found = {}
    for entry in service.get("secrets", []):
        source = entry if isinstance(entry, str) else entry["source"]
        target = source if isinstance(entry, str) else entry.get("target", source)
        path = target if target.startswith("/") else f"/run/secrets/{target}"
        definition = compose()["secrets"][source]
        found[path] = f"secret {source}: {definition.get('file', definition)}"
    return found


def _secret_keys(name: str) -> set[str]:
    secret = _k8s_named("Secret", name)
    return {*secret.get("stringData", {}), *secret.get("data", {})}


def _volume_files(volume: dict[str, Any]) -> dict[str, str]:
    """Relative path → source of each file a secret or projected volume holds."""
    if "secret" in volume:
        sources = [{"secret": {"name": volume["secret"]["secretName"], **volume["secret"]}}]
    elif "projected" in volume:
        sources = volume["projected"]["sources"]
    else:
        return {}
    files = {}
    for source in sources:
        if "secret" not in source:
            continue
        name = source["secret"]["name"]
        items = source["secret"].get("items")
        pairs = (
            [(i["key"], i["path"]) for i in items]
            if items
            else [(key, key) for key in sorted(_secret_keys(name))]
        )
        files.update({path: f"secret {name}/{key}" for key, path in pairs})
    return files


def _mounted_files(pod: dict[str, Any], spec: dict[str, Any]) -> dict[str, str]:
    volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
    found = {}
    for mount in spec.get("volumeMounts", []):
        files = _volume_files(volumes.get(mount["name"], {}))  # a claim template: none
        root = PurePosixPath(mount["mountPath"])
        if "subPath" in mount:
            if mount["subPath"] in files:
                found[str(root)] = files[mount["subPath"]]
            continue
        found.update({str(root / path): source for path, source in files.items()})
    return found


@cache
def compose_containers() -> dict[str, Container]:
    image = dockerfile()
    found = {}
    for name, service in compose()["services"].items():
        if not _is_ours(service.get("image", "")):
            continue
        env = {**image.env, **{k: str(v) for k, v in service.get("environment", {}).items()}}
        container = Container(
            where=f"compose service {name}",
            argvs=_invocations(
                service.get("entrypoint", image.entrypoint), service.get("command", image.cmd)
            ),
            env=env,
            mounts=[volume.split(":")[1] for volume in service.get("volumes", [])],
            files=_compose_secret_files(service),
        )
        if "healthcheck" in service:
            test = " ".join(service["healthcheck"]["test"])
            url = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/.-]*)", test)
            assert url, f"{name}: healthcheck without a loopback URL: {test}"
            container.probes["healthcheck"] = (url[2], int(url[1]))
        found[name] = container
    return found


@cache
def k8s_containers() -> dict[str, Container]:
    image = dockerfile()
    found = {}
    for filename, doc in k8s_docs():
        if doc["kind"] not in WORKLOADS:
            continue
        pod = doc["spec"]["template"]["spec"]
        for spec in [*pod.get("initContainers", []), *pod["containers"]]:
            assert _is_ours(spec["image"]), f"{filename}: unexpected image {spec['image']}"
            env = dict(image.env)
            for source in spec.get("envFrom", []):
                if "configMapRef" in source:
                    configmap = _k8s_named("ConfigMap", source["configMapRef"]["name"])
                    env.update(configmap["data"])
                else:
                    secret = _k8s_named("Secret", source["secretRef"]["name"])
                    env.update({key: "<secret>" for key in secret["stringData"]})
            for item in spec.get("env", []):
                env[item["name"]] = item.get("value", "<valueFrom>")
            container = Container(
                where=f"{filename} {doc['metadata']['name']}/{spec['name']}",
                argvs=_invocations(spec.get("command", image.entrypoint), spec.get("args", [])),
                env=env,
                ports={p["name"]: p["containerPort"] for p in spec.get("ports", [])},
                mounts=[mount["mountPath"] for mount in spec.get("volumeMounts", [])],
                files=_mounted_files(pod, spec),
                labels=doc["spec"]["template"]["metadata"]["labels"],
                pod=pod,
            )
            for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
                if kind in spec:
                    get = spec[kind]["httpGet"]
                    container.probes[kind] = (get["path"], get["port"])
            found[container.where] = container
    return found


def all_containers() -> list[Container]:
    return [*compose_containers().values(), *k8s_containers().values()]


# -- what the code serves ------------------------------------------------------------------


@cache
def api_app() -> Any:
    return create_app(
        Settings(),
        publisher=MemoryPublisher(),
        api_token="t" * 32,
        pseudonym_key="k" * 32,
        sealer=memory_sealer(),
    )


def api_serves(path: str) -> bool:
    """A route of the API matches the path (Starlette redirects /metrics to its mount)."""

    def matches(candidate: str) -> bool:
        scope = {"type": "http", "path": candidate, "method": "GET", "root_path": ""}
        return any(route.matches(scope)[0] is Match.FULL for route in api_app().router.routes)

    return matches(path) or (not path.endswith("/") and matches(path + "/"))


def runtime_serves(path: str) -> bool:
    """The worker's and projector's probe server answers the path with anything but 404."""
    environ: dict[str, Any] = {"PATH_INFO": path}
    setup_testing_defaults(environ)
    statuses = []
    body = probe_app()(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(body)
    return not statuses[0].startswith("404")


def serves(command: str, path: str) -> bool:
    return api_serves(path) if command == "api" else runtime_serves(path)


def listen_port(command: str, env: dict[str, str]) -> int:
    name = HTTP_PORT_FIELD[command]
    default = Settings.model_fields[name].default
    return int(env.get(f"CONTACTMOMENT_{name.upper()}", default))


# -- the files parse and pin their images --------------------------------------------------


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_parses(path: Path) -> None:
    docs = _load_all(path)
    assert docs and all(isinstance(doc, dict) for doc in docs)


def test_the_helpers_found_what_they_check() -> None:
    # Guard against the checks below passing because they found nothing to check.
    assert len(YAML_FILES) >= 10
    assert {c.command for c in compose_containers().values()} >= {"db", *HTTP_PORT_FIELD}
    assert {c.command for c in k8s_containers().values()} >= {"topics", "db", *HTTP_PORT_FIELD}


def _images() -> list[tuple[str, str]]:
    images = [("Dockerfile", image) for image in dockerfile().froms]
    images += [(f"compose {n}", s["image"]) for n, s in compose()["services"].items()]
    for filename, doc in k8s_docs():
        if doc["kind"] in WORKLOADS:
            pod = doc["spec"]["template"]["spec"]
            for spec in [*pod.get("initContainers", []), *pod["containers"]]:
                images.append((filename, spec["image"]))
    return images


def test_every_image_is_pinned_to_a_tag() -> None:
    for where, image in _images():
        tag = image.rpartition("/")[2].partition(":")[2]
        assert tag and tag != "latest" and "$" not in image, f"{where}: {image} is not pinned"


def test_our_image_tag_is_the_package_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    ours = [image for _, image in _images() if _is_ours(image)]
    assert ours and {image.rpartition(":")[2] for image in ours} == {version}
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert [i["newTag"] for i in kustomization["images"] if i["name"] == "contactmoment"] == [
        version
    ]


# -- commands, probes and ports are the code's ---------------------------------------------


def test_every_contactmoment_invocation_is_accepted_by_the_cli(
    capsys: pytest.CaptureFixture[str],
) -> None:
    invocations = [(c.where, argv) for c in all_containers() for argv in c.argvs]
    invocations.append(("Dockerfile CMD", dockerfile().cmd))
    for where, argv in invocations:
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:
            # `--help` exits 0 after printing; anything else is a usage error.
            assert exc.code == 0 and "--help" in argv, (
                f"{where}: `contactmoment {shlex.join(argv)}` is rejected by the CLI: "
                f"{capsys.readouterr().err.strip()}"
            )


def test_every_probe_asks_a_served_path_on_the_listening_port() -> None:
    probed = 0
    for container in all_containers():
        if container.command not in HTTP_PORT_FIELD:
            continue
        assert container.probes, f"{container.where}: a long-running process without probes"
        port = listen_port(container.command, container.env)
        for kind, (path, probe_port) in container.probes.items():
            number = container.ports[probe_port] if isinstance(probe_port, str) else probe_port
            assert number == port, f"{container.where} {kind}: port {number}, listens on {port}"
            assert serves(container.command, path), f"{container.where} {kind}: {path} is 404"
            probed += 1
    assert probed >= 12


def test_kubernetes_probes_liveness_on_healthz_and_readiness_on_readyz() -> None:
    for container in k8s_containers().values():
        if container.command in HTTP_PORT_FIELD:
            assert container.probes["livenessProbe"][0] == "/healthz", container.where
            assert container.probes["readinessProbe"][0] == "/readyz", container.where
            listen = listen_port(container.command, container.env)
            assert listen in container.ports.values(), f"{container.where}: {listen} undeclared"


def test_the_served_path_check_can_fail() -> None:
    assert serves("api", "/readyz") and serves("worker", "/readyz")
    assert not serves("api", "/ready") and not serves("worker", "/ready")
    assert serves("api", "/metrics") and serves("projector", "/metrics")


def test_every_server_binds_all_interfaces_in_the_image() -> None:
    # Loopback (the default) would make every probe and every Service unreachable.
    assert dockerfile().env["CONTACTMOMENT_BIND_HOST"] == "0.0.0.0"  # noqa: S104
    for container in all_containers():
        assert container.env["CONTACTMOMENT_BIND_HOST"] == "0.0.0.0", container.where  # noqa: S104


def test_the_worker_tables_live_on_a_volume() -> None:
    workers = [c for c in all_containers() if c.command == "worker"]
    assert len(workers) == 2  # compose and Kubernetes
    for worker in workers:
        # cmd_worker passes settings.local_dir / "worker" to faust as its datadir.
        datadir = PurePosixPath(worker.env["CONTACTMOMENT_LOCAL_DIR"]) / "worker"
        assert any(datadir.is_relative_to(mount) for mount in worker.mounts), worker.where


def test_the_service_norms_setting_points_at_a_file_the_container_has() -> None:
    copied = {destination for _, destination in dockerfile().copies}
    # api, worker and projector load the catalogue at start; topics and db do not.
    for container in [c for c in all_containers() if c.command in HTTP_PORT_FIELD]:
        norms = container.env["CONTACTMOMENT_SERVICE_NORMS"]
        mounted = any(PurePosixPath(norms).parent == PurePosixPath(m) for m in container.mounts)
        assert norms in copied or mounted, f"{container.where}: {norms} is not in the container"


# -- settings and secrets ------------------------------------------------------------------


def _deploy_texts() -> dict[str, str]:
    paths = [*YAML_FILES, DOCKERFILE, COMPOSE_DIR / ".env.example", ROOT / "docs/deployment.md"]
    return {str(path.relative_to(ROOT)): path.read_text() for path in paths}


def test_every_contactmoment_variable_is_a_setting() -> None:
    named = {
        (where, name)
        for where, text in _deploy_texts().items()
        for name in re.findall(r"CONTACTMOMENT_[A-Z0-9_]+", text)
    }
    assert len({name for _, name in named}) >= 10
    for where, name in named:
        field_name = name.removeprefix("CONTACTMOMENT_").lower()
        assert field_name in Settings.model_fields, f"{where}: {name} is not a setting"


def test_compose_takes_secrets_from_the_environment_file_only() -> None:
    services = compose()["services"]
    seen = 0
    for name, service in services.items():
        for key, value in service.get("environment", {}).items():
            if key in SECRET_VARS or key == "GF_SECURITY_ADMIN_PASSWORD":
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), f"{name}: {key}"
                seen += 1
    assert seen >= 4
    url = services["api"]["environment"]["CONTACTMOMENT_DATABASE_URL"]
    assert "${POSTGRES_PASSWORD:?" in url


def test_kubernetes_takes_secrets_from_the_secret_only() -> None:
    secret_keys = set(_k8s_named("Secret", "contactmoment-secrets")["stringData"])
    for _, doc in k8s_docs():
        if doc["kind"] == "ConfigMap":
            assert not secret_keys & set(doc["data"]), doc["metadata"]["name"]
        if doc["kind"] in WORKLOADS:
            pod = doc["spec"]["template"]["spec"]
            for spec in [*pod.get("initContainers", []), *pod["containers"]]:
                for item in spec.get("env", []):
                    if item["name"] in secret_keys:
                        ref = item["valueFrom"]["secretKeyRef"]
                        assert ref == {"name": "contactmoment-secrets", "key": item["name"]}


@pytest.mark.parametrize("source", ["kubernetes", "compose"])
def test_the_secret_templates_cannot_run_as_they_are(source: str) -> None:
    # The API refuses the placeholder pseudonym key, so nobody serves with a public token.
    if source == "kubernetes":
        values = _k8s_named("Secret", "contactmoment-secrets")["stringData"]
    else:
        lines = (COMPOSE_DIR / ".env.example").read_text().splitlines()
        values = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    with pytest.raises(ValidationError, match="pseudonym_key"):
        Settings(pseudonym_key=values["CONTACTMOMENT_PSEUDONYM_KEY"])


def test_secrets_stay_out_of_git_and_the_image() -> None:
    assert "deploy/compose/.env" in (ROOT / ".gitignore").read_text().splitlines()
    assert "**/.env" in (ROOT / ".dockerignore").read_text().splitlines()


# -- the Dockerfile and its build context --------------------------------------------------


def _ignored(path: str, patterns: list[str]) -> bool:
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatch(prefix, p) for p in patterns for prefix in prefixes)


def test_the_dockerfile_runs_contactmoment_as_a_non_root_user() -> None:
    image = dockerfile()
    assert image.entrypoint == ["contactmoment"]
    uid = image.user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "a numeric uid lets runAsNonRoot verify it"
    for _, doc in k8s_docs():
        if doc["kind"] in WORKLOADS:
            assert str(doc["spec"]["template"]["spec"]["securityContext"]["runAsUser"]) == uid


def test_the_dockerfile_exposes_the_default_ports() -> None:
    fields = ("api_port", "smtp_port", "worker_metrics_port", "projector_metrics_port")
    assert dockerfile().expose == {Settings.model_fields[f].default for f in fields}


def test_everything_the_dockerfile_copies_is_in_the_build_context() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "!"))
    ]
    for needed in (".venv", ".local", ".git", "benchmarks/results", ".mypy_cache"):
        assert _ignored(needed, patterns), f".dockerignore lets {needed} into the context"
    sources = [source for sources, _ in dockerfile().copies for source in sources]
    assert "services" in sources and "deploy/config/service-norms.toml" in sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such file"
        assert not _ignored(source, patterns), f"COPY {source}: excluded by .dockerignore"


# -- compose wiring ------------------------------------------------------------------------


def test_compose_builds_our_image_from_the_dockerfile() -> None:
    for service in compose()["services"].values():
        if _is_ours(service["image"]):
            build = service["build"]
            assert (COMPOSE_DIR / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE


def test_compose_starts_processes_after_init_and_init_after_its_dependencies() -> None:
    services = compose()["services"]
    for name, service in services.items():
        # The long form only: the short one cannot wait for health or completion.
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
    init = services["init"]["depends_on"]
    assert init == {
        "kafka": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
    }
    for process in HTTP_PORT_FIELD:
        assert services[process]["depends_on"]["init"] == {
            "condition": "service_completed_successfully"
        }


def _mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path → host path of a compose service's bind mounts."""
    found = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            found[target] = (COMPOSE_DIR / source).resolve()
    return found


def test_compose_grafana_provisions_the_dashboard_and_prometheus() -> None:
    services = compose()["services"]
    mounts = _mounts(services["grafana"])
    by_dir: dict[str, list[Path]] = {}
    for target, source in mounts.items():
        by_dir.setdefault(str(PurePosixPath(target).parent), []).append(source)
    (providers,) = by_dir["/etc/grafana/provisioning/dashboards"]
    (datasources,) = by_dir["/etc/grafana/provisioning/datasources"]
    dashboard_dirs = [
        p["options"]["path"] for p in yaml.safe_load(providers.read_text())["providers"]
    ]
    dashboards = [source for d in dashboard_dirs for source in by_dir.get(d, [])]
    assert dashboards == [DEPLOY / "grafana" / "contactmoment-dashboard.json"]
    assert json.loads(dashboards[0].read_text())["uid"] == "contactmoment"
    (source,) = yaml.safe_load(datasources.read_text())["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    assert "prometheus" in services


def test_compose_prometheus_scrapes_every_process_with_the_local_rules() -> None:
    services = compose()["services"]
    mounts = _mounts(services["prometheus"])
    config_path = mounts["/etc/prometheus/prometheus.yml"]
    config = yaml.safe_load(config_path.read_text())
    for rules in config["rule_files"]:
        assert mounts[f"/etc/prometheus/{rules}"] == DEPLOY / "prometheus" / rules
    local = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {job["job_name"] for job in local["scrape_configs"]}
    containers = compose_containers()
    for name, job in jobs.items():
        assert job.get("metrics_path", "/metrics") == "/metrics"
        (target,) = job["static_configs"][0]["targets"]
        host, port = target.split(":")
        container = containers[host]
        assert name == f"contactmoment-{container.command}"
        assert int(port) == listen_port(container.command, container.env), target


# -- Kubernetes wiring ---------------------------------------------------------------------


def test_the_kustomization_lists_exactly_the_manifests() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    present = {p.name for p in K8S.glob("*.y*ml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(present)


def test_the_service_norms_configmap_is_the_catalogue() -> None:
    configmap = _k8s_named("ConfigMap", "contactmoment-service-norms")
    assert (
        configmap["data"]["service-norms.toml"]
        == (DEPLOY / "config/service-norms.toml").read_text()
    )


def test_kubernetes_references_resolve() -> None:
    for filename, doc in k8s_docs():
        if doc["kind"] == "Service":
            pods = [
                d["spec"]["template"]
                for _, d in k8s_docs()
                if d["kind"] in WORKLOADS
                and doc["spec"]["selector"].items()
                <= d["spec"]["template"]["metadata"]["labels"].items()
            ]
            assert pods, f"{filename}: Service {doc['metadata']['name']} selects no pods"
            names = {
                p["name"] for pod in pods for c in pod["spec"]["containers"] for p in c["ports"]
            }
            for port in doc["spec"]["ports"]:
                assert port["targetPort"] in names, f"{filename}: {port['targetPort']}"
        if doc["kind"] in WORKLOADS:
            pod = doc["spec"]["template"]["spec"]
            for volume in pod.get("volumes", []):
                if "configMap" in volume:
                    _k8s_named("ConfigMap", volume["configMap"]["name"])
            for spec in [*pod.get("initContainers", []), *pod["containers"]]:
                for item in spec.get("env", []):
                    ref = item.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        assert ref["key"] in _k8s_named("Secret", ref["name"])["stringData"]
            for volume in pod.get("volumes", []):
                # A secret volume names a Secret of the manifests, and only keys it has.
                for source in _volume_files(volume).values():
                    name, key = source.removeprefix("secret ").split("/", 1)
                    assert key in _secret_keys(name), f"{filename}: {source} does not exist"


# -- SMTP ingress: the files the API needs, and who may reach it ---------------------------

SMTP_FILES = (
    "CONTACTMOMENT_SMTP_USERS_FILE",
    "CONTACTMOMENT_SMTP_TLS_CERT",
    "CONTACTMOMENT_SMTP_TLS_KEY",
)
KAFKA_ACCESS = K8S / "kafka-access"


def api_containers() -> list[Container]:
    found = [c for c in all_containers() if c.command == "api"]
    assert len(found) == 2, [c.where for c in found]  # compose and Kubernetes
    return found


def test_the_api_is_given_every_file_it_needs_to_start() -> None:
    # services.ingest.mail_setup.smtp_security: without all three the API refuses to start
    # SMTP, and a container that runs `api` without --no-smtp would crash-loop.
    from services.ingest.mail_setup import SMTP_FILES as needed

    assert set(needed) == set(SMTP_FILES)
    for container in api_containers():
        assert "--no-smtp" not in container.argvs[-1], container.where
        for variable in SMTP_FILES:
            path = container.env.get(variable)
            assert path, f"{container.where}: {variable} is not set"
            assert path in container.files, (
                f"{container.where}: {variable}={path} is no file a secret provides "
                f"(provided: {sorted(container.files)})"
            )


def test_the_smtp_files_come_from_secrets_the_api_user_can_read() -> None:
    (k8s,) = [c for c in api_containers() if c.where.startswith("api.yaml")]
    security = k8s.pod["securityContext"]
    volumes = [v for v in k8s.pod["volumes"] if _volume_files(v)]
    assert volumes
    for volume in volumes:
        mode = (volume.get("projected") or volume.get("secret") or {})["defaultMode"]
        # Secret files are root's; the pod's fsGroup makes them the API's group. Group-read
        # only: 0400 would leave them unreadable to uid 10001, 0444 readable by anyone.
        assert mode == 0o440, f"{volume['name']}: defaultMode {mode:o}"
    assert security["fsGroup"] == security["runAsGroup"]
    (compose_api,) = [c for c in api_containers() if c.where.startswith("compose")]
    hosts = [source.split(": ", 1)[1] for source in compose_api.files.values()]
    for host in hosts:
        # Compose bind-mounts file secrets with the host file's owner and mode: the operator
        # keeps them out of git and the build context (docs/deployment.md says whom to chown).
        assert host.startswith("./smtp/"), host
    assert "deploy/compose/smtp/" in (ROOT / ".gitignore").read_text().splitlines()
    assert "deploy/compose/smtp" in (ROOT / ".dockerignore").read_text().splitlines()


def test_the_smtp_secret_templates_cannot_run_as_they_are(tmp_path: Path) -> None:
    # Applied unchanged, the API stops with a message naming the variable; it never serves
    # SMTP with a known account or key.
    from services.ingest.mail_setup import smtp_security
    from services.settings import ConfigError

    users = _k8s_named("Secret", "contactmoment-smtp-users")["stringData"]
    tls = _k8s_named("Secret", "contactmoment-smtp-tls")
    assert tls["type"] == "kubernetes.io/tls"
    assert set(tls["stringData"]) == {"tls.crt", "tls.key"}
    files = {"users": users["users"], **tls["stringData"]}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    settings = Settings(
        smtp_users_file=tmp_path / "users",
        smtp_tls_cert=tmp_path / "tls.crt",
        smtp_tls_key=tmp_path / "tls.key",
    )
    with pytest.raises(ConfigError, match="CONTACTMOMENT_SMTP_USERS_FILE"):
        smtp_security(settings)
    (tmp_path / "users").write_text("gateway:" + "scrypt$16384$8$1$" + "A" * 24 + "$" + "A" * 44)
    with pytest.raises(ConfigError, match="CONTACTMOMENT_SMTP_TLS_CERT"):
        smtp_security(settings)


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector (matchLabels, matchExpressions In/Exists) matches the labels."""
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        if operator == "In" and labels.get(key) not in expression["values"]:
            return False
        if operator == "Exists" and key not in labels:
            return False
        assert operator in ("In", "Exists"), operator
    return True


def _policies(docs: list[dict[str, Any]], labels: dict[str, str]) -> list[dict[str, Any]]:
    return [
        doc
        for doc in docs
        if doc["kind"] == "NetworkPolicy"
        and "Ingress" in doc["spec"]["policyTypes"]
        and _selects(doc["spec"]["podSelector"], labels)
    ]


def _allows(rule: dict[str, Any], port: int | str, names: dict[str, int]) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True  # every port
    number = names.get(port, port) if isinstance(port, str) else port
    return any(names.get(p["port"], p["port"]) == number for p in ports)


def _open_to_all(rule: dict[str, Any]) -> bool:
    peers = rule.get("from")
    if not peers:
        return True
    for peer in peers:
        if peer.get("ipBlock", {}).get("cidr") in ("0.0.0.0/0", "::/0"):
            return True
        # `{}` selects every namespace or every pod: the rule then names nobody in particular.
        selectors = [peer[k] for k in ("namespaceSelector", "podSelector") if k in peer]
        if "ipBlock" not in peer and all(selector == {} for selector in selectors):
            return True
    return False


def test_the_smtp_port_is_reachable_only_from_the_mail_gateway() -> None:
    (k8s,) = [c for c in api_containers() if c.where.startswith("api.yaml")]
    docs = [doc for _, doc in k8s_docs()]
    policies = _policies(docs, k8s.labels)
    assert policies, "no NetworkPolicy selects the API's pods"
    rules = [rule for policy in policies for rule in policy["spec"].get("ingress", [])]
    smtp = [rule for rule in rules if _allows(rule, "smtp", k8s.ports)]
    assert smtp, "no rule lets the mail gateway in"
    for rule in smtp:
        assert not _open_to_all(rule), f"SMTP open to everyone: {rule}"
        assert rule.get("ports"), f"a rule for the gateway opens every port: {rule}"
    # The HTTP port stays reachable: channel systems, staff, the portal, Prometheus.
    assert any(_allows(rule, "http", k8s.ports) for rule in rules)
    # Compose publishes SMTP on the host's loopback only (docs/deployment.md: the gateway).
    ports = compose()["services"]["api"]["ports"]
    assert [p for p in ports if p.endswith(":2525")] == ["127.0.0.1:2525:2525"]


def _kafka_access_docs() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((KAFKA_ACCESS / "kustomization.yaml").read_text())
    present = {p.name for p in KAFKA_ACCESS.glob("*.y*ml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(present)
    docs = [doc for name in kustomization["resources"] for doc in _load_all(KAFKA_ACCESS / name)]
    for doc in docs:
        assert doc["metadata"]["namespace"] == kustomization["namespace"]
    return docs


def test_kafka_takes_connections_only_from_contactmoment_pods() -> None:
    settings = _k8s_named("ConfigMap", "contactmoment-settings")["data"]
    host, port = settings["CONTACTMOMENT_KAFKA_BOOTSTRAP"].split(",")[0].rsplit(":", 1)
    kafka_namespace = host.split(".")[1]  # <service>.<namespace>.svc
    docs = _kafka_access_docs()
    (policy,) = [doc for doc in docs if doc["kind"] == "NetworkPolicy"]
    assert policy["metadata"]["namespace"] == kafka_namespace
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    namespace = _k8s_named("Namespace", "contactmoment")["metadata"]["name"]
    client_rules = [r for r in policy["spec"]["ingress"] if _allows(r, int(port), {})]
    assert client_rules
    users = [c for c in k8s_containers().values() if c.command in KAFKA_COMMANDS]
    assert {c.command for c in users} == {"topics", "api", "worker", "projector"}
    let_in = []
    for rule in client_rules:
        assert rule.get("from"), f"the client port open to everyone: {rule}"
        for peer in rule["from"]:
            assert "ipBlock" not in peer, peer
            if "namespaceSelector" not in peer:
                continue  # the Kafka namespace's own pods: brokers, controllers, operators
            namespaces = peer["namespaceSelector"]
            assert namespaces != {} and peer.get("podSelector", {}) != {}, peer
            assert _selects(namespaces, {"kubernetes.io/metadata.name": namespace}), peer
            let_in.append(peer["podSelector"])
    assert let_in
    # Every contactmoment pod that talks to Kafka is let in.
    for container in users:
        assert any(_selects(pods, container.labels) for pods in let_in), container.where
    # The retention job reads PostgreSQL only; it is not let in.
    retention = _k8s_named("CronJob", "contactmoment-retention")
    labels = retention["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert not any(_selects(pods, labels) for pods in let_in)


KAFKA_COMMANDS = {"topics", "api", "worker", "projector", "replay", "privacy"}
