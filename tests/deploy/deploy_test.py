"""The deployment files against the servers they deploy: deploy/kubernetes (with its TLS,
monitoring and GPU critic components and the deploy/kubernetes-mtls and deploy/kubernetes-gpu
overlays) and deploy/container.

No cluster or container engine is needed: every flag a manifest passes must parse in the built
server it runs, ports and probes must agree, client targets must name headless Services of this
deployment, the runtime image's package list must provide every library the servers link, and
`cmake --install` must lay out what the Dockerfile copies (an installed dd-render starts with the
manifest's flags on the installed kit). Paths come from CTest: DD_BUILD_DIR and DD_<NAME>_BIN.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "support"))
from registered_metrics import registered_metrics  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KUBERNETES = os.path.join(ROOT, "deploy", "kubernetes")
TLS_COMPONENT = os.path.join(KUBERNETES, "components", "tls")
MTLS_OVERLAY = os.path.join(ROOT, "deploy", "kubernetes-mtls")
MONITORING_COMPONENT = os.path.join(KUBERNETES, "components", "monitoring")
GPU_COMPONENT = os.path.join(KUBERNETES, "components", "gpu-critic")
GPU_OVERLAY = os.path.join(ROOT, "deploy", "kubernetes-gpu")
CONTAINER = os.path.join(ROOT, "deploy", "container")
SERVERS = ("dd-render", "dd-critic", "dd-generator", "dd-session", "dd-gateway")
# Debian's base image has these (Priority: required), so the runtime list need not name them.
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1"}


def server_binary(name):
    return os.environ["DD_%s_BIN" % name[len("dd-"):].upper()]


def flag_value(args, name):
    for arg in args:
        if arg.startswith("--%s=" % name):
            return arg.split("=", 1)[1]
    return None


def kustomize(test, directory):
    """The documents `kubectl kustomize` renders from `directory`; skips the test without kubectl
    (not a Debian package: the files are checked without it elsewhere)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        test.skipTest("kubectl is not installed (not a Debian package)")
    run = subprocess.run([kubectl, "kustomize", directory], capture_output=True, text=True,
                         timeout=60)
    test.assertEqual(run.returncode, 0, run.stderr)
    return [doc for doc in yaml.safe_load_all(run.stdout) if doc]


def seconds(duration):
    match = re.fullmatch(r"(\d+)(s|m)", duration)
    assert match, "unexpected duration %r" % duration
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


def wait_until_listening(test, server, port_file, name, seconds=60):
    """The port `server` (a Popen) wrote to `port_file` once it listens; fails `test` when it
    exits or takes longer than `seconds`."""
    deadline = time.time() + seconds
    while not os.path.exists(port_file) and server.poll() is None:
        test.assertLess(time.time(), deadline, "%s did not start" % name)
        time.sleep(0.05)
    test.assertIsNone(server.poll(), "%s exited at start-up" % name)
    with open(port_file) as f:
        return int(f.read())


def owning_package(path):
    """The Debian package that installed `path`, or None. dpkg records each file under the path
    its package used, which with /usr merged may be /lib/... or /usr/lib/..., link or target."""
    candidates = []
    for variant in (path, os.path.realpath(path)):
        candidates += [variant, re.sub(r"^/usr/lib/", "/lib/", variant),
                       re.sub(r"^/lib/", "/usr/lib/", variant)]
    for candidate in dict.fromkeys(candidates):
        run = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if run.returncode == 0:
            return run.stdout.split(":")[0]
    return None


def load_manifests():
    with open(os.path.join(KUBERNETES, "kustomization.yaml")) as file:
        kustomization = yaml.safe_load(file)
    documents = []
    for resource in kustomization["resources"]:
        with open(os.path.join(KUBERNETES, resource)) as file:
            documents.extend(doc for doc in yaml.safe_load_all(file) if doc)
    return kustomization, documents


class KubernetesManifests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kustomization, documents = load_manifests()
        cls.deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
        cls.services = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Service"}
        cls.budgets = {d["metadata"]["name"]: d for d in documents
                       if d["kind"] == "PodDisruptionBudget"}
        cls.autoscalers = {d["metadata"]["name"]: d for d in documents
                           if d["kind"] == "HorizontalPodAutoscaler"}
        cls.policies = {d["metadata"]["name"]: d for d in documents
                        if d["kind"] == "NetworkPolicy"}

    def containers(self):
        for name, deployment in sorted(self.deployments.items()):
            for container in deployment["spec"]["template"]["spec"]["containers"]:
                yield name, deployment, container

    def test_every_server_is_deployed_from_the_image(self):
        self.assertEqual(sorted(self.deployments), sorted(SERVERS))
        image_names = {image["name"] for image in self.kustomization["images"]}
        for name, _, container in self.containers():
            self.assertEqual(container["command"], [name])
            self.assertIn(container["image"], image_names, name)

    def test_every_flag_parses_in_the_server_it_is_given_to(self):
        for name, _, container in self.containers():
            # absl checks every flag's name and value before it handles --help.
            run = subprocess.run([server_binary(name)] + container["args"] + ["--help"],
                                 capture_output=True, text=True, timeout=60)
            self.assertNotIn("ERROR", run.stderr, "%s %s" % (name, container["args"]))
            self.assertIn("Usage: %s" % name, run.stdout, name)

    def test_the_gateway_serves_what_its_manifest_lists_and_not_exportsession(self):
        [args] = [c["args"] for name, _, c in self.containers() if name == "dd-gateway"]
        methods = flag_value(args, "methods").split(",")
        self.assertNotIn("ExportSession", methods)  # It reveals the blind Phase II sources.
        args = [a for a in args if not a.startswith(("--host=", "--port=", "--session="))]
        with tempfile.TemporaryDirectory() as folder:
            port_file = os.path.join(folder, "port")
            # No dd-session is needed to list what the gateway serves (the channel is lazy).
            server = subprocess.Popen(
                [server_binary("dd-gateway"), "--host=127.0.0.1", "--port=0",
                 "--port_file=" + port_file, "--session=127.0.0.1:1"] +
                [a for a in args if not a.startswith("--metrics_port=")],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                port = wait_until_listening(self, server, port_file, "dd-gateway")
                with urllib.request.urlopen("http://127.0.0.1:%d/v1/openapi.json" % port,
                                            timeout=30) as reply:
                    paths = set(json.load(reply)["paths"])
            finally:
                server.terminate()
                _, stderr = server.communicate(timeout=60)
            self.assertEqual(server.returncode, 0, stderr)
        expected = {"/v1/SessionService/" + m for m in methods if m != "StreamLoopAudio"}
        if "StreamLoopAudio" in methods:
            expected.add("/v1/loops/{loopId}/audio")
        self.assertEqual(paths, expected)

    def test_ports_probes_and_services_agree(self):
        for name, deployment, container in self.containers():
            port = int(flag_value(container["args"], "port"))
            metrics_port = int(flag_value(container["args"], "metrics_port"))
            self.assertEqual(flag_value(container["args"], "host"), "0.0.0.0", name)
            self.assertEqual([p["containerPort"] for p in container["ports"]],
                             [port, metrics_port], name)
            self.assertEqual(container["ports"][1]["name"], "metrics", name)
            # Where Prometheus' usual pod discovery looks.
            annotations = deployment["spec"]["template"]["metadata"]["annotations"]
            self.assertEqual(annotations, {"prometheus.io/scrape": "true",
                                           "prometheus.io/port": str(metrics_port),
                                           "prometheus.io/path": "/metrics"}, name)
            for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                if name == "dd-gateway":
                    # HTTP on the metrics port, whose threads API calls cannot all take.
                    self.assertEqual(container[probe]["httpGet"],
                                     {"path": path, "port": metrics_port}, name)
                else:
                    self.assertEqual(container[probe]["grpc"], {"port": port}, name)
            service = self.services[name]
            labels = deployment["spec"]["template"]["metadata"]["labels"]
            self.assertEqual(deployment["spec"]["selector"]["matchLabels"], labels, name)
            self.assertTrue(service["spec"]["selector"].items() <= labels.items(), name)
            [service_port] = service["spec"]["ports"]
            self.assertEqual(service_port["port"], port, name)
            self.assertEqual(service_port["targetPort"], container["ports"][0]["name"], name)

    def test_a_drain_takes_at_most_one_pod_of_each_server(self):
        self.assertEqual(sorted(self.budgets), sorted(self.deployments))
        for name, budget in self.budgets.items():
            labels = self.deployments[name]["spec"]["template"]["metadata"]["labels"]
            self.assertEqual(budget["spec"]["selector"]["matchLabels"], labels, name)
            self.assertEqual(budget["spec"].get("maxUnavailable"), 1, name)

    def test_autoscaled_servers_leave_their_replicas_to_the_autoscaler(self):
        self.assertTrue(self.autoscalers)
        for name, autoscaler in self.autoscalers.items():
            spec = autoscaler["spec"]
            target = spec["scaleTargetRef"]
            self.assertEqual((target["kind"], target["name"]), ("Deployment", name))
            deployment = self.deployments[name]
            # A replicas field would reset the autoscaler's count at every apply.
            self.assertNotIn("replicas", deployment["spec"], name)
            self.assertTrue(2 <= spec["minReplicas"] <= spec["maxReplicas"], name)
            # Utilisation is measured against the CPU request, which must therefore be set.
            [metric] = spec["metrics"]
            self.assertEqual(metric["resource"]["name"], "cpu", name)
            for container in deployment["spec"]["template"]["spec"]["containers"]:
                self.assertIn("cpu", container["resources"]["requests"], name)
        for name, deployment in self.deployments.items():
            if name not in self.autoscalers:
                self.assertGreaterEqual(deployment["spec"]["replicas"], 2, name)

    def test_network_policies_admit_exactly_the_callers_the_manifests_configure(self):
        # Who calls whom, from the client target flags (--critic=dns:///dd-critic:50052...).
        callers = {}
        for name, _, container in self.containers():
            for peer in ("critic", "generator", "render", "session"):
                if flag_value(container["args"], peer) is not None:
                    callers.setdefault("dd-" + peer, set()).add(name)
        # ddsim (a Job or pod of the operator's) calibrates against dd-render.
        callers["dd-render"].add("ddsim")
        for name, policy in self.policies.items():
            spec = policy["spec"]
            labels = self.deployments[name]["spec"]["template"]["metadata"]["labels"]
            self.assertEqual(spec["podSelector"]["matchLabels"], labels, name)
            self.assertEqual(spec["policyTypes"], ["Ingress"], name)
            container = self.deployments[name]["spec"]["template"]["spec"]["containers"][0]
            grpc_port = int(flag_value(container["args"], "port"))
            metrics_port = int(flag_value(container["args"], "metrics_port"))
            admitted, open_ports = set(), set()
            for rule in spec["ingress"]:
                ports = {p["port"] for p in rule["ports"]}
                if "from" in rule:
                    self.assertEqual(ports, {grpc_port}, name)
                    admitted |= {peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                                 for peer in rule["from"]}
                else:
                    open_ports |= ports
            self.assertEqual(admitted, callers[name], name)
            # Scrapers (any namespace) reach the metrics, and probes the metrics port's /healthz.
            self.assertEqual(open_ports, {metrics_port}, name)
        # Every server only other servers call is restricted; the public ones are not.
        self.assertEqual(sorted(self.policies), ["dd-critic", "dd-generator", "dd-render"])

    def test_client_targets_name_headless_services_of_this_deployment(self):
        targets = 0
        for name, _, container in self.containers():
            for peer in ("critic", "generator", "render", "session"):
                target = flag_value(container["args"], peer)
                if target is None:
                    continue
                targets += 1
                match = re.fullmatch(r"dns:///([a-z0-9-]+):(\d+)", target)
                self.assertIsNotNone(match, "%s --%s=%s" % (name, peer, target))
                service = self.services[match.group(1)]
                peer_pods = self.deployments["dd-" + peer]["spec"]["template"]
                self.assertTrue(
                    service["spec"]["selector"].items() <= peer_pods["metadata"]["labels"].items(),
                    "%s --%s: %s selects other pods" % (name, peer, match.group(1)))
                peer_port = int(flag_value(peer_pods["spec"]["containers"][0]["args"], "port"))
                self.assertEqual(int(match.group(2)), peer_port)
                self.assertEqual(service["spec"]["ports"][0]["port"], peer_port)
                # A round_robin client spreads calls only over the pod addresses a headless
                # Service resolves to; a ClusterIP would be one address.
                self.assertEqual(service["spec"].get("clusterIP"), "None", service["metadata"])
        # dd-generator's critic; dd-session's critic, generator and render; dd-gateway's session.
        self.assertEqual(targets, 5)

    def test_pods_get_their_shutdown_grace_before_they_are_killed(self):
        for name, deployment, container in self.containers():
            # gRPC servers cancel calls after --shutdown_grace; dd-gateway's calls end by
            # --call_timeout.
            grace = seconds(flag_value(container["args"], "shutdown_grace") or
                            flag_value(container["args"], "call_timeout"))
            killed_after = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
            self.assertGreater(killed_after, grace, name)

    def test_pods_meet_the_restricted_pod_security_standard(self):
        # Namespaces that enforce the "restricted" profile refuse pods that do not say all this;
        # the user must be the image's, given by number so that the kubelet can tell it is not
        # root.
        with open(os.path.join(CONTAINER, "Dockerfile")) as file:
            image_user = int(re.findall(r"^USER (\d+)$", file.read(), re.M)[-1])
        for name, deployment, container in self.containers():
            pod = deployment["spec"]["template"]["spec"]
            self.assertEqual(pod["securityContext"],
                             {"runAsNonRoot": True, "runAsUser": image_user,
                              "seccompProfile": {"type": "RuntimeDefault"}}, name)
            self.assertIs(pod["automountServiceAccountToken"], False, name)
            for host_namespace in ("hostNetwork", "hostPID", "hostIPC"):
                self.assertNotIn(host_namespace, pod, name)
            self.assertEqual(container["securityContext"],
                             {"allowPrivilegeEscalation": False,
                              "capabilities": {"drop": ["ALL"]},
                              "readOnlyRootFilesystem": True}, name)
            self.assertFalse(container.get("volumeMounts"), name)  # Nothing writable either.

    def test_database_servers_read_the_example_secret(self):
        with open(os.path.join(KUBERNETES, "postgres-secret.example.yaml")) as file:
            secret = yaml.safe_load(file)
        self.assertTrue({"PGHOST", "PGDATABASE", "PGUSER", "PGPASSWORD"} <=
                        set(secret["stringData"]))
        readers = sorted(name for name, _, container in self.containers()
                         if any(source["secretRef"]["name"] == secret["metadata"]["name"]
                                for source in container.get("envFrom", [])))
        self.assertEqual(readers, ["dd-critic", "dd-session"])

    def test_kustomize_renders_them_where_kubectl_is_installed(self):
        rendered = kustomize(self, KUBERNETES)
        kinds = sorted(doc["kind"] for doc in rendered)
        self.assertEqual(kinds, sorted(["Deployment"] * 5 + ["Service"] * 6 +
                                       ["PodDisruptionBudget"] * 5 +
                                       ["HorizontalPodAutoscaler"] * 3 +
                                       ["NetworkPolicy"] * 3))
        for doc in rendered:
            if doc["kind"] == "Deployment":
                image = doc["spec"]["template"]["spec"]["containers"][0]["image"]
                self.assertEqual(image, "deepdrummer:0.1.0")


def apply_json_patch(document, operations):
    """The test, add and replace operations of RFC 6902 the components use, on a copy; a failed
    test raises, as it makes kustomize fail."""
    document = yaml.safe_load(yaml.safe_dump(document))
    for operation in operations:
        *parents, last = operation["path"].strip("/").split("/")
        node = document
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if operation["op"] == "test":
            found = node[int(last)] if isinstance(node, list) else node.get(last)
            assert found == operation["value"], "test of %s: %r, not %r" % (
                operation["path"], found, operation["value"])
        elif operation["op"] == "add" and isinstance(node, list):
            node.insert(len(node) if last == "-" else int(last), operation["value"])
        elif operation["op"] == "replace" and isinstance(node, list):
            node[int(last)] = operation["value"]
        elif operation["op"] in ("add", "replace"):
            if operation["op"] == "replace":
                assert last in node, "replace of a missing %s" % operation["path"]
            node[last] = operation["value"]
        else:
            raise AssertionError("unexpected operation %r" % operation)
    return document


class TlsComponent(unittest.TestCase):
    """deploy/kubernetes/components/tls and the deploy/kubernetes-mtls overlay that uses it,
    applied here without kubectl (the JSON patches on the base's Deployments)."""

    @classmethod
    def setUpClass(cls):
        _, documents = load_manifests()
        with open(os.path.join(TLS_COMPONENT, "kustomization.yaml")) as file:
            component = yaml.safe_load(file)
        cls.deployments = {}
        for document in documents:
            if document["kind"] != "Deployment":
                continue
            name = document["metadata"]["name"]
            [patch] = [p for p in component["patches"]
                       if re.fullmatch(p["target"]["name"], name)]
            with open(os.path.join(TLS_COMPONENT, patch["path"])) as file:
                cls.deployments[name] = apply_json_patch(document, yaml.safe_load(file))
        with open(os.path.join(MTLS_OVERLAY, "certificate.yaml")) as file:
            cls.certificate = yaml.safe_load(file)
        with open(os.path.join(MTLS_OVERLAY, "kustomization.yaml")) as file:
            cls.overlay = yaml.safe_load(file)

    def container(self, name):
        return self.deployments[name]["spec"]["template"]["spec"]["containers"][0]

    def test_the_overlay_is_the_base_with_the_component_and_a_certificate(self):
        base = os.path.relpath(KUBERNETES, MTLS_OVERLAY)
        self.assertEqual(self.overlay["resources"], [base, "certificate.yaml"])
        self.assertEqual(self.overlay["components"],
                         [os.path.relpath(TLS_COMPONENT, MTLS_OVERLAY)])
        self.assertEqual(sorted(self.deployments), sorted(SERVERS))

    def test_every_flag_parses_and_names_a_file_of_the_mounted_secret(self):
        secret = self.certificate["spec"]["secretName"]
        for name in SERVERS:
            container = self.container(name)
            run = subprocess.run([server_binary(name)] + container["args"] + ["--help"],
                                 capture_output=True, text=True, timeout=60)
            self.assertNotIn("ERROR", run.stderr, "%s %s" % (name, container["args"]))
            [mount] = container["volumeMounts"]
            [volume] = self.deployments[name]["spec"]["template"]["spec"]["volumes"]
            self.assertEqual(volume, {"name": mount["name"], "secret": {"secretName": secret}})
            files = {flag: flag_value(container["args"], flag)
                     for flag in ("tls_cert_file", "tls_key_file", "tls_ca_file",
                                  "tls_client_ca_file")}
            # The keys cert-manager writes into a kubernetes.io/tls Secret.
            expected = {"tls_cert_file": "tls.crt", "tls_key_file": "tls.key",
                        "tls_ca_file": "ca.crt",
                        "tls_client_ca_file": None if name == "dd-gateway" else "ca.crt"}
            for flag, key in expected.items():
                self.assertEqual(files[flag], key and mount["mountPath"] + "/" + key,
                                 "%s --%s" % (name, flag))

    def test_grpc_servers_are_probed_over_http_on_their_metrics_port(self):
        for name in SERVERS:
            container = self.container(name)
            for probe in ("readinessProbe", "livenessProbe"):
                self.assertNotIn("grpc", container[probe], "%s %s" % (name, probe))
                if name != "dd-gateway":
                    self.assertEqual(container[probe]["httpGet"],
                                     {"path": "/healthz",
                                      "port": int(flag_value(container["args"], "metrics_port"))},
                                     "%s %s" % (name, probe))

    def test_the_certificate_names_every_host_the_callers_dial(self):
        spec = self.certificate["spec"]
        self.assertEqual(sorted(spec["usages"]), ["client auth", "server auth"])
        dialled = set()
        for name in SERVERS:
            for peer in ("critic", "generator", "render", "session"):
                target = flag_value(self.container(name)["args"], peer)
                if target is not None:
                    dialled.add(re.fullmatch(r"dns:///([a-z0-9-]+):\d+", target).group(1))
        self.assertTrue(dialled)
        self.assertTrue(dialled <= set(spec["dnsNames"]), dialled - set(spec["dnsNames"]))

    def test_kustomize_renders_the_overlay_as_patched_here_where_kubectl_is_installed(self):
        rendered = kustomize(self, MTLS_OVERLAY)
        self.assertEqual([doc["kind"] for doc in rendered].count("Certificate"), 1)
        for doc in rendered:
            if doc["kind"] != "Deployment":
                continue
            name = doc["metadata"]["name"]
            [container] = doc["spec"]["template"]["spec"]["containers"]
            expected = self.container(name)
            for field in ("args", "volumeMounts", "readinessProbe", "livenessProbe"):
                self.assertEqual(container[field], expected[field], "%s %s" % (name, field))

    def test_a_server_with_the_components_flags_serves_the_probes(self):
        """dd-render with the component's flags, the Secret's files made by make-certificates for
        the certificate's names: it starts, and /healthz answers on the metrics port."""
        with tempfile.TemporaryDirectory() as secret:
            # The names the certificate lists, as cert-manager would put them in; tls.crt and
            # tls.key are what it calls the certificate and key.
            subprocess.run([os.path.join(ROOT, "deploy", "local", "make-certificates"), secret] +
                           ["DNS:" + name for name in self.certificate["spec"]["dnsNames"]],
                           check=True, capture_output=True, timeout=60)
            os.rename(os.path.join(secret, "server.crt"), os.path.join(secret, "tls.crt"))
            os.rename(os.path.join(secret, "server.key"), os.path.join(secret, "tls.key"))
            container = self.container("dd-render")
            mount = container["volumeMounts"][0]["mountPath"]
            args = [arg.replace(mount, secret) for arg in container["args"]
                    if not arg.startswith(("--host=", "--port=", "--metrics_port="))]
            server = subprocess.Popen(
                [server_binary("dd-render"), "--host=127.0.0.1", "--port=0", "--metrics_port=0",
                 "--samples=" + os.path.join(ROOT, "samples", "default-kit")] + args,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                listening = None
                for line in server.stderr:  # Ends if the server exits.
                    if '"event":"server.listening"' in line:
                        listening = json.loads(line)
                        break
                self.assertIsNotNone(listening, "dd-render did not start")
                self.assertEqual(listening["tls"], "mutual")
                healthz = listening["metrics"].replace("/metrics", "/healthz")
                with urllib.request.urlopen(healthz, timeout=10) as answer:
                    self.assertEqual(answer.status, 200)
                    self.assertEqual(json.loads(answer.read()), {"status": "SERVING"})
            finally:
                server.terminate()
                server.communicate(timeout=60)
            self.assertEqual(server.returncode, 0)

class GpuCriticComponent(unittest.TestCase):
    """deploy/kubernetes/components/gpu-critic and the deploy/kubernetes-gpu overlay: dd-critic on
    a GPU, applied here without kubectl (its JSON patch on the base's Deployment)."""

    @classmethod
    def setUpClass(cls):
        _, documents = load_manifests()
        with open(os.path.join(GPU_COMPONENT, "kustomization.yaml")) as file:
            cls.component = yaml.safe_load(file)
        [patch] = cls.component["patches"]
        cls.target = patch["target"]
        with open(os.path.join(GPU_COMPONENT, patch["path"])) as file:
            cls.operations = yaml.safe_load(file)
        [cls.base] = [d for d in documents
                      if d["kind"] == "Deployment" and d["metadata"]["name"] == "dd-critic"]
        cls.deployment = apply_json_patch(cls.base, cls.operations)
        with open(os.path.join(GPU_OVERLAY, "kustomization.yaml")) as file:
            cls.overlay = yaml.safe_load(file)

    def container(self):
        [container] = self.deployment["spec"]["template"]["spec"]["containers"]
        return container

    def test_it_patches_the_critic_only_and_the_overlay_is_the_base_with_it(self):
        self.assertEqual(self.target, {"kind": "Deployment", "name": "dd-critic"})
        self.assertEqual(self.overlay["resources"], [os.path.relpath(KUBERNETES, GPU_OVERLAY)])
        self.assertEqual(self.overlay["components"],
                         [os.path.relpath(GPU_COMPONENT, GPU_OVERLAY)])

    def test_the_critic_runs_on_one_gpu_from_the_cuda_image(self):
        container = self.container()
        self.assertEqual(flag_value(container["args"], "device"), "cuda:0")
        self.assertEqual([a for a in container["args"] if a.startswith("--device")],
                         ["--device=cuda:0"])
        self.assertEqual(container["resources"]["limits"]["nvidia.com/gpu"], 1)
        self.assertIn(container["image"], {image["name"] for image in self.component["images"]})
        self.assertNotEqual(container["image"], "deepdrummer", "the CPU image has no CUDA")
        tolerations = self.deployment["spec"]["template"]["spec"]["tolerations"]
        self.assertIn({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
                      tolerations)

    def test_every_flag_parses_and_helpers_leave_the_call_its_own_cpu(self):
        container = self.container()
        run = subprocess.run([server_binary("dd-critic")] + container["args"] + ["--help"],
                             capture_output=True, text=True, timeout=60)
        self.assertNotIn("ERROR", run.stderr, container["args"])
        self.assertIn("Usage: dd-critic", run.stdout)
        cpus = int(container["resources"]["requests"]["cpu"])
        self.assertEqual(int(flag_value(container["args"], "render_helpers")), cpus - 1)

    def test_its_tests_guard_what_it_replaces(self):
        """Every replace of a base value is preceded by a test of it (or of its container), so a
        base whose arguments moved fails to build instead of losing the wrong one."""
        for index, operation in enumerate(self.operations):
            if operation["op"] == "replace" and "/args/" in operation["path"]:
                previous = self.operations[index - 1]
                self.assertEqual((previous["op"], previous["path"]), ("test", operation["path"]))
        moved = yaml.safe_load(yaml.safe_dump(self.base))
        args = moved["spec"]["template"]["spec"]["containers"][0]["args"]
        args.insert(0, "--log_level=info")
        with self.assertRaises(AssertionError):
            apply_json_patch(moved, self.operations)

    def test_kustomize_renders_the_overlay_as_patched_here_where_kubectl_is_installed(self):
        rendered = kustomize(self, GPU_OVERLAY)
        [critic] = [d for d in rendered
                    if d["kind"] == "Deployment" and d["metadata"]["name"] == "dd-critic"]
        [container] = critic["spec"]["template"]["spec"]["containers"]
        expected = self.container()
        for field in ("args", "resources"):
            self.assertEqual(container[field], expected[field], field)
        [image] = self.component["images"]
        self.assertEqual(container["image"], "%s:%s" % (image["name"], image["newTag"]))
        others = [d["spec"]["template"]["spec"]["containers"][0]["image"] for d in rendered
                  if d["kind"] == "Deployment" and d["metadata"]["name"] != "dd-critic"]
        self.assertEqual(set(others), {"deepdrummer:0.1.0"})

    def test_it_composes_with_the_tls_component_where_kubectl_is_installed(self):
        with tempfile.TemporaryDirectory() as overlay:
            with open(os.path.join(overlay, "kustomization.yaml"), "w") as file:
                yaml.safe_dump({"apiVersion": "kustomize.config.k8s.io/v1beta1",
                                "kind": "Kustomization",
                                "resources": [os.path.relpath(KUBERNETES, overlay)],
                                "components": [os.path.relpath(TLS_COMPONENT, overlay),
                                               os.path.relpath(GPU_COMPONENT, overlay)]}, file)
            rendered = kustomize(self, overlay)
        [critic] = [d for d in rendered
                    if d["kind"] == "Deployment" and d["metadata"]["name"] == "dd-critic"]
        args = critic["spec"]["template"]["spec"]["containers"][0]["args"]
        self.assertEqual(flag_value(args, "device"), "cuda:0")
        self.assertIsNotNone(flag_value(args, "tls_cert_file"))


# Labels Prometheus adds to every series of a scraped pod (the PodMonitor's), and its own.
TARGET_LABELS = {"namespace", "pod", "container", "job", "instance", "endpoint"}
PROMQL_WORDS = {"sum", "rate", "increase", "histogram_quantile", "by", "without", "and", "or",
                "unless", "on", "ignoring", "max", "min", "avg", "count"}


class MonitoringComponent(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(MONITORING_COMPONENT, "kustomization.yaml")) as file:
            cls.kustomization = yaml.safe_load(file)
        cls.documents = {}
        for resource in cls.kustomization["resources"]:
            with open(os.path.join(MONITORING_COMPONENT, resource)) as file:
                for document in yaml.safe_load_all(file):
                    cls.documents[document["kind"]] = document
        cls.families = registered_metrics()

    def test_the_pod_monitor_scrapes_every_servers_metrics_port(self):
        self.assertEqual(self.kustomization["kind"], "Component")
        monitor = self.documents["PodMonitor"]
        expression, = monitor["spec"]["selector"]["matchExpressions"]
        self.assertEqual(expression["key"], "app.kubernetes.io/name")
        self.assertEqual(sorted(expression["values"]), sorted(SERVERS))
        endpoint, = monitor["spec"]["podMetricsEndpoints"]
        self.assertEqual(endpoint["path"], "/metrics")
        _, documents = load_manifests()
        for deployment in (d for d in documents if d["kind"] == "Deployment"):
            container, = deployment["spec"]["template"]["spec"]["containers"]
            ports = {port["name"]: port["containerPort"] for port in container["ports"]}
            self.assertIn(endpoint["port"], ports, deployment["metadata"]["name"])
            self.assertEqual(flag_value(container["args"], "metrics_port"),
                             str(ports[endpoint["port"]]), deployment["metadata"]["name"])

    def test_the_code_registers_the_metrics_the_readme_names(self):
        # The parser above finds them all, or the alerts' check below proves little.
        for family in ("grpc_server_handled_total", "grpc_server_handling_seconds",
                       "gateway_http_requests_total", "critic_training_round_seconds",
                       "db_pool_acquire_timeouts_total"):
            self.assertIn(family, self.families)
        self.assertEqual(self.families["grpc_server_handled_total"],
                         ("counter", {"grpc_type", "grpc_service", "grpc_method", "grpc_code"}))

    def test_every_alert_reads_metrics_and_labels_the_servers_export(self):
        rules = [rule for group in self.documents["PrometheusRule"]["spec"]["groups"]
                 for rule in group["rules"]]
        self.assertGreater(len(rules), 8)
        self.assertEqual(len({rule["alert"] for rule in rules}), len(rules), "alert names repeat")
        for rule in rules:
            name = rule["alert"]
            self.assertIn(rule["labels"]["severity"], {"critical", "warning", "info"}, name)
            self.assertTrue(rule["annotations"]["summary"] and rule["annotations"]["description"])
            self.assertRegex(rule["for"], r"^\d+m$", name)
            expr = " ".join(rule["expr"].split())
            self.assertEqual(expr.count("("), expr.count(")"), name)
            grouped = [set(re.findall(r"[a-z_]+", g)) for g in re.findall(r"by \(([^)]*)\)", expr)]
            stripped = re.sub(r"by \([^)]*\)", " ", expr)
            series = re.findall(r"([a-z_:][a-z0-9_:]*)\s*\{([^}]*)\}", stripped)
            stripped = re.sub(r"\{[^}]*\}|\[\w+\]", " ", stripped)
            series += [(word, "") for word in re.findall(r"\b([a-z_:][a-z0-9_:]*)\b(?!\s*\()",
                                                         stripped)
                       if word not in PROMQL_WORDS]
            self.assertTrue(series, name)
            available = None  # Labels every series of the expression has.
            for metric, matchers in series:
                if metric == "up":  # Prometheus' own, per scraped target.
                    labels = set()
                else:
                    base = re.sub(r"_(bucket|sum|count)$", "", metric)
                    family = metric if metric in self.families else base
                    self.assertTrue(family in self.families,
                                    "%s reads %s, which no server registers" % (name, metric))
                    kind, labels = self.families[family]
                    if family != metric:
                        self.assertEqual(kind, "histogram", "%s: %s" % (name, metric))
                        if metric.endswith("_bucket"):
                            labels = labels | {"le"}
                for label in re.findall(r"([a-z_]+)\s*=~?", matchers):
                    self.assertIn(label, labels | TARGET_LABELS,
                                  "%s: %s has no label %s" % (name, metric, label))
                has = labels | TARGET_LABELS
                available = has if available is None else available & has
            for group in grouped:
                self.assertLessEqual(group, available | {"le"},
                                     "%s groups by a label not on its series" % name)
            # After aggregation only the grouped labels are left for the annotations to quote.
            left = set.intersection(*grouped) if grouped else available
            quoted = set(re.findall(r"\$labels\.(\w+)", json.dumps(rule["annotations"])))
            self.assertLessEqual(quoted, left, "%s quotes labels its result lacks" % name)


class LocalScripts(unittest.TestCase):
    """deploy/local/down (and up, which stops what runs before it starts) on a run folder of
    the test's own, with no PostgreSQL in it."""

    def test_down_stops_its_servers_and_nothing_a_stale_pid_file_names(self):
        with tempfile.TemporaryDirectory() as run_dir:
            # A process of ours, as `up` starts it (argv[0] ends in dd-render)...
            ours_path = os.path.join(run_dir, "dd-render")
            os.symlink(shutil.which("sleep"), ours_path)
            ours = subprocess.Popen([ours_path, "300"])
            # ...and someone else's, whose pid a stale pid file names (pids are reused, after a
            # reboot say).
            other = subprocess.Popen(["sleep", "300"])
            try:
                for name, process in (("render", ours), ("critic", other)):
                    with open(os.path.join(run_dir, name + ".pid"), "w") as file:
                        file.write(str(process.pid))
                with open(os.path.join(run_dir, "generator.pid"), "w") as file:
                    file.write("not a pid")
                run = subprocess.run(
                    [os.path.join(ROOT, "deploy", "local", "down")], capture_output=True,
                    text=True, timeout=60, env=dict(os.environ, DD_RUN_DIR=run_dir))
                self.assertEqual(run.returncode, 0, run.stderr)
                self.assertIsNotNone(ours.wait(timeout=30))  # Stopped.
                self.assertIsNone(other.poll(), "down killed a process that is not its own")
                self.assertEqual(
                    [f for f in os.listdir(run_dir) if f.endswith(".pid")], [],
                    "every pid file is forgotten")
            finally:
                for process in (ours, other):
                    if process.poll() is None:
                        process.kill()
                        process.wait()


class ContainerImage(unittest.TestCase):
    def read_dockerfile(self):
        with open(os.path.join(CONTAINER, "Dockerfile")) as file:
            return file.read()

    def test_runtime_packages_provide_every_library_the_servers_link(self):
        for tool in ("objdump", "ldconfig", "dpkg"):
            if shutil.which(tool) is None and not os.path.exists("/sbin/" + tool):
                self.skipTest("%s is not installed: not a Debian build machine" % tool)
        with open(os.path.join(CONTAINER, "runtime-packages.txt")) as file:
            listed = {line.strip() for line in file if line.strip() and not line.startswith("#")}
        cache = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True,
                               check=True).stdout
        paths = {}
        for line in cache.splitlines():
            match = re.match(r"\s+(\S+) \(libc6,x86-64[^)]*\) => (\S+)", line)
            if match:
                paths.setdefault(match.group(1), match.group(2))
        needed = set()
        for name in SERVERS:
            dynamic = subprocess.run(["objdump", "-p", server_binary(name)], capture_output=True,
                                     text=True, check=True).stdout
            needed |= set(re.findall(r"NEEDED\s+(\S+)", dynamic))
        self.assertIn("libtorch.so.1.13", needed)  # The check sees what the servers link.
        if any(library.startswith("libasan.") for library in needed):
            self.skipTest("a DD_SANITIZE build: it links the sanitizers' runtimes, which the "
                          "image's build does not")
        missing = []
        for library in sorted(needed):
            self.assertIn(library, paths, "%s is not in the linker cache" % library)
            package = owning_package(paths[library])
            self.assertIsNotNone(package, "no package owns %s" % paths[library])
            if package not in listed | BASE_IMAGE_PACKAGES:
                missing.append("%s (from %s)" % (library, package))
        self.assertEqual(missing, [], "add these packages to deploy/container/runtime-packages.txt")

    def test_dockerfile_copies_what_exists_and_installs_the_kit_where_servers_look(self):
        dockerfile = self.read_dockerfile()
        for source in re.findall(r"^COPY (?!--from)(\S+) ", dockerfile, re.MULTILINE):
            if source != ".":
                self.assertTrue(os.path.exists(os.path.join(ROOT, source)), source)
        prefix = re.search(r"--prefix (\S+)", dockerfile).group(1)
        destination = re.search(r"^COPY --from=build %s/ (\S+)" % re.escape(prefix), dockerfile,
                                re.MULTILINE).group(1)
        samples = re.search(r"-DDD_DEFAULT_SAMPLES_DIR=(\S+)", dockerfile).group(1)
        self.assertEqual(samples, os.path.join(destination, "share/deepdrummer/default-kit"))
        with open(os.path.join(ROOT, "CMakeLists.txt")) as file:
            cmake = file.read()
        for option in re.findall(r"-D(DD_\w+)=", dockerfile):
            self.assertRegex(cmake, r"(option|set)\(%s\b" % option)

    def test_installed_render_server_starts_on_the_installed_kit(self):
        with tempfile.TemporaryDirectory() as prefix:
            subprocess.run(["cmake", "--install", os.environ["DD_BUILD_DIR"], "--prefix", prefix],
                           check=True, capture_output=True, timeout=300)
            for name in SERVERS + ("ddsim",):
                self.assertTrue(os.access(os.path.join(prefix, "bin", name), os.X_OK), name)
            kit = os.path.join(prefix, "share", "deepdrummer", "default-kit")
            wavs = [f for _, _, files in os.walk(kit) for f in files if f.endswith(".wav")]
            self.assertGreaterEqual(len(wavs), 24)
            _, documents = load_manifests()
            [render] = [d for d in documents
                        if d["kind"] == "Deployment" and d["metadata"]["name"] == "dd-render"]
            args = [a for a in render["spec"]["template"]["spec"]["containers"][0]["args"]
                    if not a.startswith(("--host=", "--port=", "--metrics_port="))]
            port_file = os.path.join(prefix, "port")
            server = subprocess.Popen(
                [os.path.join(prefix, "bin", "dd-render"), "--host=127.0.0.1", "--port=0",
                 "--metrics_port=0", "--port_file=" + port_file, "--samples=" + kit] + args,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                wait_until_listening(self, server, port_file, "dd-render")
            finally:
                server.terminate()
                _, stderr = server.communicate(timeout=60)
            self.assertEqual(server.returncode, 0, stderr)
            self.assertIn('"samples":%d' % len(wavs), stderr)
            self.assertIn('"metrics":"http://127.0.0.1:', stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
