// Flag parsing for the benchmark CLIs, header-only and dependency-free so that the critic
// benchmark still builds with LibTorch alone.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace dd::bench {

// The value of --name=VALUE, or `fallback`. --help or -h prints `usage` and exits.
inline std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback,
                        const char* usage) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("usage: %s %s\n", argv[0], usage);
      std::exit(0);
    }
    if (arg.rfind(prefix, 0) == 0) return arg.substr(prefix.size());
  }
  return fallback;
}

}  // namespace dd::bench
