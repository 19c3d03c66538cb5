"""README.md against what it describes: the two commands it starts with, the CI entry point,
every flag of every program, every RPC of the API and every metric the servers export. A flag or an RPC added without a word in
the README, or a command renamed, fails here instead of leaving the README untrue."""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "support"))
from registered_metrics import registered_metrics  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAMS = ("DD_RENDER_BIN", "DD_CRITIC_BIN", "DD_GENERATOR_BIN", "DD_SESSION_BIN",
            "DD_GATEWAY_BIN", "DD_DDSIM_BIN")


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


class Readme(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.readme = read("README.md")

    def test_it_starts_with_the_two_commands_and_ci_runs_the_second(self):
        first_block = re.search(r"```sh\n(.*?)```", self.readme, re.S)
        self.assertIsNotNone(first_block, "README has no sh block")
        commands = [line.split("#")[0].strip()
                    for line in first_block.group(1).splitlines() if line.strip()]
        self.assertEqual(commands, ["./deploy/local/up", "./tests/run"])
        for command in commands:
            self.assertTrue(os.access(os.path.join(ROOT, command), os.X_OK), command)
        ci = [line for line in read(".ci/run").splitlines()
              if line.strip() and not line.startswith("#") and not line.startswith("set ")]
        self.assertEqual(ci, ['exec "$(dirname "${BASH_SOURCE[0]}")/../tests/run"'])

    def test_every_flag_of_every_program_is_described(self):
        checked, missing = 0, []
        for variable in PROGRAMS:
            binary = os.environ[variable]
            run = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=60)
            # absl prints the flags of this repository's files under "Flags from <path>:".
            flags = re.findall(r"^    --([a-z0-9_]+) \(", run.stdout + run.stderr, re.M)
            self.assertGreater(len(flags), 5, f"{binary} --help listed no flags")
            for flag in flags:
                checked += 1
                if not re.search(rf"`--{flag}\b", self.readme):
                    missing.append(f"{os.path.basename(binary)} --{flag}")
        self.assertGreater(checked, 100)
        self.assertEqual(missing, [], "flags README.md does not describe (as `--name`)")

    def test_every_rpc_is_in_the_api_table(self):
        table = self.readme[self.readme.index("## The API"):self.readme.index("## How a loop")]
        for proto in ("render", "critic", "generator", "session"):
            text = read(f"proto/deepdrummer/v1/{proto}.proto")
            rpcs = re.findall(r"^\s*rpc (\w+)\(", text, re.M)
            self.assertTrue(rpcs, proto)
            missing = [rpc for rpc in rpcs if f"`{rpc}`" not in table]
            self.assertEqual(missing, [], f"{proto}.proto's RPCs not in README's API table")

    def test_every_metric_the_servers_export_is_described(self):
        families = registered_metrics()
        self.assertGreater(len(families), 10)
        missing = [family for family in sorted(families) if f"`{family}" not in self.readme]
        self.assertEqual(missing, [], "metrics README.md does not name (as `name`)")


if __name__ == "__main__":
    unittest.main(verbosity=2)
