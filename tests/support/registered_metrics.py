"""The metrics the servers export, read from the code that registers them, for the tests that
hold the README and the alerting rules to them."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def registered_metrics(root=ROOT):
    """{family: (kind, label names)} of every metric the C++ code registers, read from its
    Add{Counter,Gauge,Histogram} calls; a label list named by a variable is looked up among the
    file's `const std::vector<std::string> NAME = {...};`. Sampled metrics (no labels) are read
    from their tables' `{"name", "help", Type::kCounter or kGauge` entries."""
    families = {}
    call = re.compile(r'Add(Counter|Gauge|Histogram)\(\s*"([a-z_:][a-z0-9_:]*)",\s*'
                      r'((?:"(?:[^"\\]|\\.)*"\s*)+),\s*(\{[^}]*\}|[A-Za-z_]\w*)')
    sampled = re.compile(r'\{\s*"([a-z_:][a-z0-9_:]*)",\s*(?:"(?:[^"\\]|\\.)*"\s*)+,\s*'
                         r'(?:Registry::SampledType|Type)::k(Counter|Gauge)\b')
    for folder in ("services", "common"):
        for directory, _, names in os.walk(os.path.join(root, folder)):
            for name in names:
                if not name.endswith(".cc"):
                    continue
                with open(os.path.join(directory, name)) as file:
                    source = file.read()
                for kind, family, _, labels in call.findall(source):
                    if not labels.startswith("{"):
                        defined = re.search(r"std::vector<std::string> %s = (\{[^}]*\});"
                                            % labels, source)
                        assert defined, "%s: labels of %s in %s not found" % (name, family, labels)
                        labels = defined.group(1)
                    families[family] = (kind.lower(), set(re.findall(r'"([^"]+)"', labels)))
                for family, kind in sampled.findall(source):
                    families[family] = (kind.lower(), set())
    return families
