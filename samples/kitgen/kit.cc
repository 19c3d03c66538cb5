#include "samples/kitgen/kit.h"

namespace dd::kitgen {
namespace {

Signal Kick(double start_hz, double end_hz, double glide, double decay, double click, Rng& rng) {
  Signal body = GlidingSine(decay * 6.0, start_hz, end_hz, glide);
  ExponentialDecay(body, decay);
  Signal transient = WhiteNoise(0.01, rng);
  HighPass(transient, 2000.0);
  ExponentialDecay(transient, 0.002);
  MixInto(body, transient, click);
  Finish(body, 0.9);
  return body;
}

Signal Snare(double tone_hz, double tone_decay, double noise_decay, double noise_hp, Rng& rng) {
  Signal tone = GlidingSine(0.4, tone_hz * 1.5, tone_hz, 0.01);
  ExponentialDecay(tone, tone_decay);
  Signal noise = WhiteNoise(noise_decay * 6.0, rng);
  HighPass(noise, noise_hp);
  ExponentialDecay(noise, noise_decay);
  MixInto(tone, noise, 0.8);
  Finish(tone, 0.85);
  return tone;
}

Signal Clap(int bursts, double spacing, double tail_decay, Rng& rng) {
  Signal out = Silence(0.02);
  for (int i = 0; i < bursts; ++i) {
    Signal burst = WhiteNoise(0.012, rng);
    ExponentialDecay(burst, 0.004);
    MixInto(out, burst, 1.0, i * spacing);
  }
  Signal tail = WhiteNoise(tail_decay * 6.0, rng);
  ExponentialDecay(tail, tail_decay);
  MixInto(out, tail, 0.7, bursts * spacing);
  BandPass(out, 1200.0, 0.9);
  Finish(out, 0.85);
  return out;
}

Signal Hat(double decay, double brightness_hz, Rng& rng) {
  // Six square waves at inharmonic ratios, the 808's metallic recipe, plus a little noise.
  Signal out = SquareCluster(decay * 7.0, {205.3, 304.4, 369.6, 522.7, 540.0, 800.0});
  Signal noise = WhiteNoise(decay * 7.0, rng);
  MixInto(out, noise, 0.3);
  BandPass(out, brightness_hz, 0.7);
  HighPass(out, 6000.0);
  ExponentialDecay(out, decay);
  Finish(out, 0.7);
  return out;
}

Signal Tom(double start_hz, double end_hz, double decay) {
  Signal out = GlidingSine(decay * 6.0, start_hz, end_hz, 0.05);
  ExponentialDecay(out, decay);
  Finish(out, 0.85);
  return out;
}

}  // namespace

std::vector<KitSample> BuildDefaultKit() {
  Rng rng(20201124);  // Fixed seed: the kit must come out identical on every build.
  std::vector<KitSample> kit;
  auto add = [&kit](std::string path, Signal audio) {
    kit.push_back({std::move(path), std::move(audio)});
  };

  add("kick/kick-deep.wav", Kick(160.0, 45.0, 0.04, 0.25, 0.3, rng));
  add("kick/kick-punchy.wav", Kick(220.0, 60.0, 0.02, 0.12, 0.6, rng));
  add("kick/kick-boom.wav", Kick(120.0, 38.0, 0.08, 0.45, 0.1, rng));
  add("kick/kick-tight.wav", Kick(300.0, 70.0, 0.01, 0.06, 0.8, rng));

  add("snare/snare-crisp.wav", Snare(190.0, 0.05, 0.08, 2500.0, rng));
  add("snare/snare-fat.wav", Snare(160.0, 0.09, 0.14, 1200.0, rng));
  add("snare/snare-snappy.wav", Snare(240.0, 0.03, 0.05, 4000.0, rng));

  add("clap/clap-dry.wav", Clap(3, 0.011, 0.06, rng));
  add("clap/clap-wide.wav", Clap(4, 0.015, 0.15, rng));

  add("hat/hat-closed-tight.wav", Hat(0.018, 10000.0, rng));
  add("hat/hat-closed-soft.wav", Hat(0.03, 8000.0, rng));
  add("hat/hat-closed-bright.wav", Hat(0.025, 12000.0, rng));
  add("hat/hat-open-short.wav", Hat(0.12, 9000.0, rng));
  add("hat/hat-open-long.wav", Hat(0.3, 10000.0, rng));

  add("tom/tom-low.wav", Tom(140.0, 80.0, 0.2));
  add("tom/tom-mid.wav", Tom(200.0, 120.0, 0.16));
  add("tom/tom-high.wav", Tom(280.0, 180.0, 0.12));

  {
    Signal rim = GlidingSine(0.05, 1700.0, 1600.0, 0.01);
    ExponentialDecay(rim, 0.006);
    Finish(rim, 0.8);
    add("perc/rimshot.wav", std::move(rim));
  }
  {
    Signal bell = SquareCluster(0.4, {540.0, 800.0});
    BandPass(bell, 800.0, 1.5);
    ExponentialDecay(bell, 0.08);
    Finish(bell, 0.7);
    add("perc/cowbell.wav", std::move(bell));
  }
  {
    Signal clave = GlidingSine(0.12, 2500.0, 2500.0, 1.0);
    ExponentialDecay(clave, 0.02);
    Finish(clave, 0.75);
    add("perc/clave.wav", std::move(clave));
  }
  {
    Signal shaker = WhiteNoise(0.15, rng);
    HighPass(shaker, 5000.0);
    LinearAttack(shaker, 0.03);
    ExponentialDecay(shaker, 0.04);
    Finish(shaker, 0.6);
    add("perc/shaker.wav", std::move(shaker));
  }
  {
    Signal conga = GlidingSine(0.4, 420.0, 330.0, 0.02);
    ExponentialDecay(conga, 0.07);
    Finish(conga, 0.8);
    add("perc/conga.wav", std::move(conga));
  }

  // Deliberately unpleasant sounds, as the paper kept some: a trained critic should learn to
  // avoid them for most listeners.
  {
    Signal squeal = SquareCluster(0.6, {7040.0, 7459.0});
    ExponentialDecay(squeal, 0.5);
    Finish(squeal, 0.8);
    add("harsh/squeal.wav", std::move(squeal));
  }
  {
    Signal crush = WhiteNoise(0.5, rng);
    BitCrush(crush, 3, 7);
    HardClip(crush, 3.0);
    ExponentialDecay(crush, 0.25);
    Finish(crush, 0.9);
    add("harsh/bitcrush-noise.wav", std::move(crush));
  }
  {
    Signal buzz = Sawtooth(0.7, 55.0);
    MixInto(buzz, Sawtooth(0.7, 58.0), 1.0);
    HardClip(buzz, 4.0);
    ExponentialDecay(buzz, 0.6);
    Finish(buzz, 0.9);
    add("harsh/buzz.wav", std::move(buzz));
  }
  {
    Signal screech = GlidingSine(0.5, 3000.0, 9000.0, 0.15);
    HardClip(screech, 6.0);
    Finish(screech, 0.8);
    add("harsh/screech.wav", std::move(screech));
  }
  return kit;
}

}  // namespace dd::kitgen
