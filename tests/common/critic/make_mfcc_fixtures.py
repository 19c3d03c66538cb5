#!/usr/bin/python3
"""Writes the MFCC reference fixtures the C++ MFCC is tested against.

Run once with Debian's python3-torchaudio (apt-get install python3-torchaudio); the outputs are
committed, so the tests do not need Python or torchaudio:

    /usr/bin/python3 tests/common/critic/make_mfcc_fixtures.py

Inputs are three 0.5 s clips at 44.1 kHz (a decaying 60 Hz "kick" with a click, white-noise
bursts, and a chirp plus a near-silent stretch that exercises the -80 dB floor), stored as raw
little-endian float32 so both sides read identical samples. Outputs are torchaudio's
MFCC(n_mfcc=60, dct_type=2, norm='ortho', log_mels=False) for sample_rate 16000 (the original's
default) and 44100, shape (3, 60, 111), float32.
"""
import os

import numpy as np
import torch
import torchaudio

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
FRAMES = 22050


def clips():
    rng = np.random.default_rng(20261124)
    t = np.arange(FRAMES) / 44100.0
    kick = np.sin(2 * np.pi * 60 * t) * np.exp(-t * 12)
    kick[:40] += 0.8
    noise = np.zeros(FRAMES)
    for start in range(0, FRAMES - 1500, 5512):
        burst = rng.normal(0, 0.3, 1500) * np.exp(-np.arange(1500) / 300.0)
        noise[start:start + 1500] += burst
    chirp = 0.5 * np.sin(2 * np.pi * (200 * t + 8000 * t * t))
    chirp[FRAMES // 2:] *= 1e-6
    return np.stack([kick, noise, chirp]).astype(np.float32)


def main():
    audio = clips()
    os.makedirs(HERE, exist_ok=True)
    audio.astype("<f4").tofile(os.path.join(HERE, "mfcc_input_3x22050.f32"))
    for rate in (16000, 44100):
        mfcc = torchaudio.transforms.MFCC(sample_rate=rate, n_mfcc=60, dct_type=2, norm="ortho",
                                          log_mels=False)
        # (batch, channel=1, time), as the critic feeds it: torchaudio then floors each clip at
        # top_db below its own peak (with no channel dimension it would use the batch's peak).
        out = mfcc(torch.from_numpy(audio).unsqueeze(1)).squeeze(1).numpy()
        assert out.shape == (3, 60, 111), out.shape
        out.astype("<f4").tofile(os.path.join(HERE, f"mfcc_expected_sr{rate}_3x60x111.f32"))
    print("torchaudio", torchaudio.__version__, "torch", torch.__version__, "->", HERE)


if __name__ == "__main__":
    main()
