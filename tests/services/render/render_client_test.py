"""A client in another language: Python (Debian's python3-grpcio) against the real dd-render.

Discovers the API through server reflection as grpcurl would, checks health, renders a loop and
checks the WAV, stops the server with SIGTERM, and calls a server that requires mutual TLS. Paths come from the environment (set by CTest):
DD_RENDER_BIN, DD_PROTO_PY (generated modules), DD_KIT (sample folder).
"""
import io
import os
import queue
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import wave

sys.path.insert(0, os.environ["DD_PROTO_PY"])

import grpc  # noqa: E402
from google.protobuf import descriptor_pb2  # noqa: E402

from deepdrummer.v1 import loop_pb2, render_pb2, render_pb2_grpc  # noqa: E402
from grpc_ext import health_pb2, health_pb2_grpc  # noqa: E402
from grpc_ext import reflection_pb2, reflection_pb2_grpc  # noqa: E402


class RenderServiceFromPython(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        port_file = os.path.join(cls.tmp.name, "port")
        cls.stderr = open(os.path.join(cls.tmp.name, "stderr.log"), "w+")
        cls.proc = subprocess.Popen(
            [os.environ["DD_RENDER_BIN"], "--port=0", f"--port_file={port_file}",
             f"--samples={os.environ['DD_KIT']}"],
            stdout=subprocess.DEVNULL, stderr=cls.stderr)
        deadline = time.time() + 30
        while not os.path.exists(port_file):
            if cls.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("dd-render did not start")
            time.sleep(0.05)
        with open(port_file) as f:
            cls.address = f"127.0.0.1:{int(f.read())}"
        cls.channel = grpc.insecure_channel(cls.address)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        if cls.proc.poll() is None:
            cls.proc.kill()
            cls.proc.wait()
        cls.stderr.close()
        cls.tmp.cleanup()

    def reflect(self, request):
        stub = reflection_pb2_grpc.ServerReflectionStub(self.channel)
        responses = list(stub.ServerReflectionInfo(iter([request]), timeout=10))
        self.assertEqual(len(responses), 1)
        return responses[0]

    def test_1_reflection_lists_and_describes_every_service(self):
        listed = self.reflect(reflection_pb2.ServerReflectionRequest(list_services=""))
        names = {s.name for s in listed.list_services_response.service}
        self.assertTrue({"deepdrummer.v1.RenderService", "grpc.health.v1.Health",
                         "grpc.reflection.v1alpha.ServerReflection"} <= names, names)

        described = self.reflect(reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="deepdrummer.v1.RenderService"))
        files = [descriptor_pb2.FileDescriptorProto.FromString(raw)
                 for raw in described.file_descriptor_response.file_descriptor_proto]
        render_file = next(f for f in files if f.name == "deepdrummer/v1/render.proto")
        methods = {m.name for m in render_file.service[0].method}
        self.assertEqual(methods, {"Render", "RenderSteadyBar", "ListSamples", "ReloadSamples"})

    def test_2_health_is_serving(self):
        stub = health_pb2_grpc.HealthStub(self.channel)
        for name in ("", "deepdrummer.v1.RenderService"):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
            self.assertEqual(reply.status, health_pb2.HealthCheckResponse.SERVING, name)

    def test_3_render_returns_a_valid_nine_second_wav(self):
        stub = render_pb2_grpc.RenderServiceStub(self.channel)
        ids = ["kick/kick-punchy.wav", "snare/snare-fat.wav", "hat/hat-open-short.wav", "tom/tom-low.wav"]
        loop = loop_pb2.DrumLoop(tracks=[
            loop_pb2.Track(sample_id=sid, hits=[(k * (t + 1)) % 5 == 0 for k in range(16)])
            for t, sid in enumerate(ids)])
        reply = stub.Render(render_pb2.RenderRequest(loop=loop), timeout=10)
        self.assertEqual(reply.audio[:4], b"RIFF")
        self.assertEqual(reply.audio[8:12], b"WAVE")
        with wave.open(io.BytesIO(reply.audio)) as w:
            self.assertEqual(w.getnchannels(), 1)
            self.assertEqual(w.getsampwidth(), 2)
            self.assertEqual(w.getframerate(), 44100)
            self.assertEqual(w.getnframes(), 9 * 44100)
            self.assertAlmostEqual(w.getnframes() / w.getframerate(), reply.duration_seconds)
            frames = w.readframes(w.getnframes())
        self.assertTrue(any(frames), "the loop must not be silent")

        with self.assertRaises(grpc.RpcError) as error:
            bad = loop_pb2.DrumLoop(tracks=[loop_pb2.Track(sample_id="missing.wav", hits=[True] * 16)])
            stub.Render(render_pb2.RenderRequest(loop=bad), timeout=10)
        self.assertEqual(error.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertIn("missing.wav", error.exception.details())

    def test_4_sigterm_shuts_down_gracefully(self):
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=30), 0)
        self.stderr.seek(0)
        log = self.stderr.read()
        self.assertIn('"event":"server.shutdown_requested"', log)
        self.assertIn('"event":"server.stopped"', log)


def start_render(test, folder, *flags):
    """A dd-render on the default kit with `flags`, its port written into `folder`, and that
    port once it listens."""
    port_file = os.path.join(folder, "port")
    proc = subprocess.Popen(
        [os.environ["DD_RENDER_BIN"], "--port=0", f"--port_file={port_file}",
         f"--samples={os.environ['DD_KIT']}", "--log_level=error", *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while not os.path.exists(port_file):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            proc.wait()
            test.fail("dd-render did not start")
        time.sleep(0.05)
    with open(port_file) as f:
        return proc, int(f.read())


class ThreadBound(unittest.TestCase):
    """--max_threads: calls beyond the threads are refused RESOURCE_EXHAUSTED at once instead of
    each getting a thread of its own, health checks still answer, and the threads serve again
    once the calls end. Reflection streams hold a thread each while open."""

    def test_calls_beyond_the_threads_are_refused_while_health_answers(self):
        with tempfile.TemporaryDirectory() as tmp:
            proc, port = start_render(self, tmp, "--max_threads=4")
            try:
                with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
                    held, outcomes = [], []
                    for _ in range(10):
                        requests = queue.Queue()
                        requests.put(reflection_pb2.ServerReflectionRequest(list_services=""))
                        stream = stub.ServerReflectionInfo(iter(requests.get, None), timeout=60)
                        held.append((requests, stream))
                        try:
                            next(stream)
                            outcomes.append("served")
                        except grpc.RpcError as error:
                            self.assertEqual(error.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
                            outcomes.append("refused")
                    self.assertEqual(outcomes.count("served"), 3, outcomes)  # 4 less the poller's.
                    self.assertEqual(outcomes.count("refused"), 7, outcomes)
                    health = health_pb2_grpc.HealthStub(channel)
                    self.assertEqual(
                        health.Check(health_pb2.HealthCheckRequest(), timeout=10).status,
                        health_pb2.HealthCheckResponse.SERVING)
                    for requests, stream in held:
                        requests.put(None)  # Ends the stream's requests: its thread returns.
                        stream.cancel()
                    # The threads serve again once their calls are gone.
                    deadline = time.time() + 30
                    while True:
                        try:
                            listed = stub.ServerReflectionInfo(iter(
                                [reflection_pb2.ServerReflectionRequest(list_services="")]),
                                timeout=10)
                            self.assertGreater(len(list(listed)), 0)
                            break
                        except grpc.RpcError as error:
                            self.assertEqual(error.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
                            self.assertLess(time.time(), deadline, "the threads never came back")
                            time.sleep(0.1)
            finally:
                proc.terminate()
                proc.wait(timeout=30)


class MutualTlsFromPython(unittest.TestCase):
    """Python's own TLS stack against dd-render serving mutual TLS, with certificates made by
    deploy/local/make-certificates: a client with the CA and a client certificate renders, one
    without the certificate is refused."""

    def test_a_python_client_with_a_client_certificate_is_served(self):
        with tempfile.TemporaryDirectory() as pki:
            root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
                os.path.abspath(__file__)))))
            subprocess.run([os.path.join(root, "deploy", "local", "make-certificates"), pki,
                            "DNS:localhost"], check=True, capture_output=True, timeout=60)
            proc, port = start_render(
                self, pki, f"--tls_cert_file={pki}/server.crt",
                f"--tls_key_file={pki}/server.key", f"--tls_client_ca_file={pki}/ca.crt")
            try:
                address = f"localhost:{port}"

                def read(name):
                    with open(os.path.join(pki, name), "rb") as f:
                        return f.read()
                with_certificate = grpc.ssl_channel_credentials(
                    read("ca.crt"), read("client.key"), read("client.crt"))
                with grpc.secure_channel(address, with_certificate) as channel:
                    stub = render_pb2_grpc.RenderServiceStub(channel)
                    listed = stub.ListSamples(render_pb2.ListSamplesRequest(), timeout=10)
                    self.assertGreater(len(listed.samples), 0)
                without_certificate = grpc.ssl_channel_credentials(read("ca.crt"))
                with grpc.secure_channel(address, without_certificate) as channel:
                    stub = render_pb2_grpc.RenderServiceStub(channel)
                    with self.assertRaises(grpc.RpcError) as error:
                        stub.ListSamples(render_pb2.ListSamplesRequest(), timeout=10)
                    self.assertEqual(error.exception.code(), grpc.StatusCode.UNAVAILABLE)
            finally:
                proc.terminate()
                proc.wait(timeout=30)


class HelpFlag(unittest.TestCase):
    def test_help_lists_the_flags(self):
        result = subprocess.run([os.environ["DD_RENDER_BIN"], "--help"], capture_output=True,
                                text=True, timeout=30)
        text = result.stdout + result.stderr
        for flag in ("--samples", "--port", "--max_message_bytes", "--shutdown_grace",
                     "--render_helpers", "--render_helper_spin"):
            self.assertIn(flag, text)
        # The program is named once, and flags by their file in the repository, not by the
        # absolute path of the machine that built the binary.
        self.assertTrue(result.stdout.startswith("dd-render: renders drum loops"),
                        result.stdout[:80])
        self.assertIn("Flags from services/render/main.cc:", text)
        self.assertIn("Flags from services/shared/service_main.cc:", text)

    def test_version_names_the_build(self):
        result = subprocess.run([os.environ["DD_RENDER_BIN"], "--version"], capture_output=True,
                                text=True, timeout=30)
        self.assertRegex(result.stdout,
                         r"^deepdrummer \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)$")

    def test_a_helper_count_out_of_range_is_refused_at_start(self):
        result = subprocess.run([os.environ["DD_RENDER_BIN"], "--port=0", "--render_helpers=-1",
                                 f"--samples={os.environ['DD_KIT']}"],
                                capture_output=True, text=True, timeout=30)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("--render_helpers", result.stderr)
        self.assertIn("helpers must be in [0, 63], got -1", result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
