// dd-kitgen: writes the default drum kit (samples/default-kit) from its recipes.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "common/audio/audio_constants.h"
#include "common/audio/encode.h"
#include "samples/kitgen/kit.h"

int main(int argc, char** argv) {
  if (argc != 2 || std::string(argv[1]) == "--help") {
    std::cerr << "Usage: dd-kitgen OUTPUT_FOLDER\n"
                 "Synthesises the default drum kit as 16-bit 44.1 kHz mono WAV files.\n";
    return argc == 2 ? EXIT_SUCCESS : 2;
  }
  const std::filesystem::path root = argv[1];
  for (const dd::kitgen::KitSample& sample : dd::kitgen::BuildDefaultKit()) {
    const std::filesystem::path path = root / sample.relative_path;
    std::filesystem::create_directories(path.parent_path());
    auto encoded = dd::EncodeAudio(sample.audio, dd::kSampleRate, dd::AudioEncoding::kWav16);
    if (!encoded.ok()) {
      std::cerr << path << ": " << encoded.status() << "\n";
      return EXIT_FAILURE;
    }
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(encoded->data(), static_cast<std::streamsize>(encoded->size()));
    if (!file) {
      std::cerr << path << ": write failed\n";
      return EXIT_FAILURE;
    }
    std::cout << path.string() << "\n";
  }
  return EXIT_SUCCESS;
}
