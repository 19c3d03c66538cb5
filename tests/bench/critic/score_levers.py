#!/usr/bin/env python3
"""Where a batched Score's GPU time goes, and what other formulations of it would cost.

A PyTorch replica of the critic's scoring path (common/critic/mfcc.cc and critic_net.cc: the
same shapes, operations and order), timed stage by stage as CUDA graph replays, as dd-critic
replays them, beside formulations the C++ does not use (yet): torch.stft's (batch, freq, time)
layout, which makes the DCT's output (batch, n_mfcc, time) with no transpose; the DFT as a matrix
product; batch norms folded into the layer after them; channels-last and bfloat16 convolutions;
16-bit clips copied to the device. Each alternative prints its largest difference from the
float32 original, so a faster one that changes the numbers shows it. Last, whole Score calls as
dd-critic makes them (page-locked clips copied in pieces on a stream of their own, overlapping
the work on the piece before; each piece size's MFCC and network one graph), with other piece
schedules, 16-bit clips, and the MFCC per piece with the network once over the batch.

Needs only a CUDA PyTorch (the GPU machine has nothing else of the project):

    python3 tests/bench/critic/score_levers.py [--batches 64,256] [--replays 30]

Prints one table of microseconds per clip (best of five timings of `--replays` replays).
"""
import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F

CLIP = 88200  # kClipFrames: 2 s at 44.1 kHz
N_FFT, HOP, N_MELS, N_MFCC, TOP_DB, MEL_RATE = 400, 200, 128, 60, 80.0, 16000
N_FREQ = N_FFT // 2 + 1


def mel_bank(device):
    def hz_to_mel(hz):
        return 2595.0 * math.log10(1.0 + hz / 700.0)

    f64 = torch.float64
    freqs = torch.linspace(0, MEL_RATE // 2, N_FREQ, dtype=f64)
    mels = torch.linspace(hz_to_mel(0), hz_to_mel(MEL_RATE // 2), N_MELS + 2, dtype=f64)
    points = 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    widths = points[1:] - points[:-1]
    slopes = points.unsqueeze(0) - freqs.unsqueeze(1)
    down = -slopes[:, :-2] / widths[:-1]
    up = slopes[:, 2:] / widths[1:]
    return torch.clamp_min(torch.minimum(down, up), 0).float().to(device)


def ortho_dct(device):
    n = torch.arange(N_MELS, dtype=torch.float64)
    k = torch.arange(N_MFCC, dtype=torch.float64).unsqueeze(1)
    dct = torch.cos(math.pi / N_MELS * (n + 0.5) * k)
    dct[0] *= 1 / math.sqrt(2)
    dct *= math.sqrt(2 / N_MELS)
    return dct.t().contiguous().float().to(device)  # (n_mels, n_mfcc)


def drum_like_clips(batch, device, seed=1):
    """Decaying noise bursts and tones on sixteenth-note steps, so features look like a loop's."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    t = torch.arange(CLIP, dtype=torch.float32) / 44100
    out = torch.zeros(batch, CLIP)
    step = CLIP // 16
    for b in range(batch):
        for s in range(16):
            if torch.rand(1, generator=g).item() < 0.5:
                continue
            start = s * step
            n = CLIP - start
            tt = t[:n]
            decay = torch.exp(-tt * (5 + 60 * torch.rand(1, generator=g).item()))
            tone = torch.sin(2 * math.pi * (50 + 5000 * torch.rand(1, generator=g).item()) * tt)
            noise = torch.randn(n, generator=g)
            mix = torch.rand(1, generator=g).item()
            out[b, start:] += 0.4 * decay * (mix * tone + (1 - mix) * noise)
    return out.to(device)


class Stages:
    def __init__(self, device):
        self.window = torch.hann_window(N_FFT, device=device)
        self.bank = mel_bank(device)
        self.dct = ortho_dct(device)
        # The window folded into a real DFT basis: x @ basis = [Re X | Im X].
        n = torch.arange(N_FFT, dtype=torch.float64)
        k = torch.arange(N_FREQ, dtype=torch.float64)
        angle = 2 * math.pi * n.unsqueeze(1) * k.unsqueeze(0) / N_FFT
        w = self.window.double().cpu().unsqueeze(1)
        self.dft = torch.cat([w * torch.cos(angle), -w * torch.sin(angle)], 1).float().to(device)
        self.bank2 = torch.cat([self.bank, self.bank], 0)

    # The C++ path, stage by stage (mfcc.cc).
    def pad(self, audio):
        p, t = N_FFT // 2, audio.shape[1]
        padded = torch.empty(audio.shape[0], t + 2 * p, device=audio.device)
        padded[:, p:p + t].copy_(audio)
        padded[:, :p].copy_(audio[:, 1:p + 1].flip(1))
        padded[:, p + t:].copy_(audio[:, t - p - 1:t - 1].flip(1))
        return padded

    def windowed(self, padded):
        return padded.unfold(1, N_FFT, HOP) * self.window

    def rfft(self, windowed):
        return torch.fft.rfft(windowed)

    def power(self, spectrum):
        return spectrum.abs().square_()

    def mel(self, power):
        return torch.matmul(power, self.bank)

    def db(self, mel):
        x = mel.clamp_min(1e-10).log10_().mul_(10.0)
        floor = x.flatten(1).amax(1) - TOP_DB
        return x.clamp_min_(floor.view(-1, 1, 1))

    def to_mfcc(self, mel_db):
        return torch.matmul(mel_db, self.dct).transpose(1, 2).contiguous()

    def mfcc(self, audio):
        x = self.pad(audio)
        x = self.rfft(self.windowed(x))
        return self.to_mfcc(self.db(self.mel(self.power(x))))

    # Alternatives.
    def power_real_view(self, spectrum):
        return torch.view_as_real(spectrum).square().sum(-1)

    def mfcc_real_view(self, audio):
        x = self.rfft(self.windowed(self.pad(audio)))
        return self.to_mfcc(self.db(self.mel(self.power_real_view(x))))

    def mfcc_stft_layout(self, audio):
        spec = torch.stft(audio, N_FFT, HOP, window=self.window, center=True, pad_mode="reflect",
                          return_complex=True)  # (batch, freq, time)
        power = torch.view_as_real(spec).square().sum(-1)
        mel = torch.matmul(self.bank.t(), power)  # (batch, n_mels, time)
        x = mel.clamp_min_(1e-10).log10_().mul_(10.0)
        floor = x.flatten(1).amax(1) - TOP_DB
        x = x.clamp_min_(floor.view(-1, 1, 1))
        return torch.matmul(self.dct.t(), x)  # (batch, n_mfcc, time), no transpose

    def mfcc_dft_matmul(self, audio):
        frames = self.pad(audio).unfold(1, N_FFT, HOP)
        y = torch.matmul(frames, self.dft).square_()  # (batch, time, 2 * n_freq)
        return self.to_mfcc(self.db(torch.matmul(y, self.bank2)))


class Net(torch.nn.Module):
    """critic_net.cc's network (rhythm branch off), eval mode."""

    def __init__(self, time_frames):
        super().__init__()
        conv = lambda i, o: torch.nn.Conv2d(i, o, (4, 8), stride=(2, 4))
        self.conv1, self.conv2, self.conv3 = conv(1, 64), conv(64, 64), conv(64, 64)
        self.conv4 = torch.nn.Conv2d(64, 8, 1)
        self.norms = torch.nn.ModuleList(
            [torch.nn.BatchNorm2d(c) for c in (64, 64, 64, 8)])
        h, w = N_MFCC, time_frames
        for _ in range(3):
            h, w = (h - 4) // 2 + 1, (w - 8) // 4 + 1
        self.dense = torch.nn.Linear(8 * h * w, 128)
        self.output = torch.nn.Linear(128, 2)
        g = torch.Generator().manual_seed(3)
        with torch.no_grad():  # Batch norms that have seen data, so folding them matters.
            for bn in self.norms:
                bn.running_mean.copy_(0.3 * torch.randn(bn.num_features, generator=g))
                bn.running_var.copy_(0.5 + torch.rand(bn.num_features, generator=g))
                bn.weight.copy_(1 + 0.2 * torch.randn(bn.num_features, generator=g))
                bn.bias.copy_(0.2 * torch.randn(bn.num_features, generator=g))
        self.folded = False

    def forward(self, features):
        x = features.unsqueeze(1)
        layers = (self.conv1, self.conv2, self.conv3, self.conv4)
        for conv, norm in zip(layers, self.norms):
            x = F.leaky_relu(conv(x), 0.01)
            if not self.folded:
                x = norm(x)
        x = F.leaky_relu(self.dense(x.flatten(1)), 0.01)
        return torch.log_softmax(F.leaky_relu(self.output(x), 0.01), 1)

    @torch.no_grad()
    def fold_norms(self):
        """Each eval batch norm (y = a x + b per channel, after an activation) folded into the
        unpadded layer that reads it: exact, since no padding mixes in a raw zero."""
        def affine(bn):
            a = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            return a, bn.bias - a * bn.running_mean

        for norm, conv in zip(self.norms[:3], (self.conv2, self.conv3, self.conv4)):
            a, b = affine(norm)
            conv.bias += (conv.weight * b.view(1, -1, 1, 1)).sum((1, 2, 3))
            conv.weight *= a.view(1, -1, 1, 1)
        a, b = affine(self.norms[3])
        per_input = self.dense.in_features // a.numel()  # flatten is channel-major
        a, b = a.repeat_interleave(per_input), b.repeat_interleave(per_input)
        self.dense.bias += self.dense.weight @ b
        self.dense.weight *= a.view(1, -1)
        self.folded = True


class Graphed:
    """fn(static input) recorded once as a CUDA graph for inputs shaped like `example`."""

    def __init__(self, fn, example):
        self.input = example.clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), torch.no_grad():
            for _ in range(3):
                fn(self.input)
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph), torch.no_grad():
            self.output = fn(self.input)

    def __call__(self, rows):
        self.input[:rows.shape[0]].copy_(rows)
        self.graph.replay()
        return self.output[:rows.shape[0]]


def best_time(fn, example, replays, trials=5):
    """Microseconds per call of fn(example) replayed as a CUDA graph, best of `trials`, and the
    output."""
    graphed = Graphed(fn, example)
    graphed.graph.replay()
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(trials):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(replays):
            graphed.graph.replay()
        end.record()
        end.synchronize()
        best = min(best, start.elapsed_time(end) * 1000 / replays)
    return best, graphed.output


def copy_pipeline(host, sizes, process, finish=None):
    """common/critic/cuda_copy_pipeline.cc's schedule: piece k's clips copied from page-locked
    `host` into one of two staging buffers on a stream of their own, the work on it queued on the
    current stream after that copy, a buffer refilled only once the work on it is done. Returns
    after the scores are on the host, as Critic::Score does."""
    work = torch.cuda.current_stream()
    copies = torch.cuda.Stream()
    staging = [torch.empty(max(sizes), CLIP, dtype=host.dtype, device="cuda") for _ in range(2)]
    staged = [torch.cuda.Event() for _ in range(2)]
    consumed = [torch.cuda.Event() for _ in range(2)]
    copies.wait_stream(work)
    first = 0
    for piece, rows in enumerate(sizes):
        buffer = piece % 2
        with torch.cuda.stream(copies):
            if piece >= 2:
                copies.wait_event(consumed[buffer])
            staging[buffer][:rows].copy_(host[first:first + rows], non_blocking=True)
            staged[buffer].record(copies)
        work.wait_event(staged[buffer])
        process(first, staging[buffer][:rows])
        consumed[buffer].record(work)
        first += rows
    if finish is not None:
        finish()


def pipeline_rows(stages, net, folded, audio, replays):
    """Whole batched Score calls, copies from page-locked memory included, under other piece
    schedules and formats: median wall time per call over `replays` calls, per clip."""
    batch = audio.shape[0]
    host32 = torch.empty(batch, CLIP, pin_memory=True).copy_(audio.cpu())
    host16 = (host32 * 32767).round().clamp(-32768, 32767).short().pin_memory()
    like = torch.empty(batch, device="cuda")
    per_piece = {}  # (network, rows) -> Graphed MFCC + network

    def scorer(model, rows):
        key = (id(model), rows)
        if key not in per_piece:
            per_piece[key] = Graphed(lambda x: model(stages.mfcc(x))[:, 1].exp(), audio[:rows])
        return per_piece[key]

    def whole_pieces(model, host, sizes):
        def process(first, staged):
            rows = staged.shape[0]
            if staged.dtype == torch.int16:
                staged = staged.float().mul_(1 / 32768)
            like[first:first + rows].copy_(scorer(model, rows)(staged))
        return lambda: (copy_pipeline(host, sizes, process), like.cpu())

    # MFCC per piece as its copy lands, the network once over the whole batch.
    features = torch.zeros(batch, N_MFCC, 1 + CLIP // HOP, device="cuda")
    mfcc64 = Graphed(stages.mfcc, audio[:64]) if batch % 64 == 0 else None

    def hybrid(model):
        whole = Graphed(lambda f: model(f)[:, 1].exp(), features)

        def process(first, staged):
            features[first:first + staged.shape[0]].copy_(mfcc64(staged))
        return lambda: (copy_pipeline(host32, [64] * (batch // 64), process,
                                      lambda: like.copy_(whole(features))), like.cpu())

    schedules = {64: [("pieces of 64 (as dd-critic)", [64]), ("32 + 32", [32, 32]),
                      ("16 + 16 + 32", [16, 16, 32])],
                 256: [("pieces of 64 (as dd-critic)", [64] * 4),
                       ("32 + 64 + 64 + 64 + 32", [32, 64, 64, 64, 32]),
                       ("16 + 32 + 64 + 64 + 64 + 16", [16, 32, 64, 64, 64, 16])]}
    runs = []
    for label, model in (("network", net), ("folded channels-last network", folded)):
        for name, sizes in schedules.get(batch, [("one piece", [batch])]):
            runs.append((f"Score: {label}, {name}", whole_pieces(model, host32, sizes)))
        sizes = [64] * (batch // 64) if batch % 64 == 0 else [batch]
        runs.append((f"Score: {label}, int16 clips, {sizes[0]}-clip pieces",
                     whole_pieces(model, host16, sizes)))
        if mfcc64 is not None and batch > 64:
            runs.append((f"Score: {label}, MFCC per 64-clip piece, network over the batch",
                         hybrid(model)))
    out = []
    for name, run in runs:
        try:
            times = []
            for _ in range(replays + 3):
                start = time.perf_counter()
                run()
                times.append(time.perf_counter() - start)
            out.append((name, statistics.median(times[3:]) * 1e6 / batch))
        except Exception as error:  # One formulation failing must not lose the others' rows.
            print(f"{name}: failed: {error}", flush=True)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", default="64,256")
    parser.add_argument("--replays", type=int, default=30)
    opts = parser.parse_args()
    torch.backends.cudnn.benchmark = True
    device = torch.device("cuda")
    print(torch.cuda.get_device_name(), "torch", torch.__version__,
          "cudnn.allow_tf32", torch.backends.cudnn.allow_tf32,
          "matmul.allow_tf32", torch.backends.cuda.matmul.allow_tf32)
    stages = Stages(device)
    time_frames = 1 + CLIP // HOP
    rows = []

    def row(name, batch, fn, example, reference=None, scale=None):
        us, out = best_time(fn, example, opts.replays)
        diff = ""
        if reference is not None:
            d = (out.float() - reference.float()).abs().max().item()
            diff = f"{d:.2e}" + (f" (of {scale:.0f})" if scale else "")
        rows.append((name, batch, us / batch, diff))
        print(f"{name:<58} {batch:>5} {us / batch:9.2f} us/clip  {diff}", flush=True)
        return out

    for batch in [int(b) for b in opts.batches.split(",")]:
        audio = drum_like_clips(batch, device)
        padded = stages.pad(audio)
        windowed = stages.windowed(padded).contiguous()
        spectrum = stages.rfft(windowed)
        power = stages.power(spectrum)
        mel = stages.mel(power)
        mel_db = stages.db(mel)
        with torch.no_grad():
            mfcc = stages.mfcc(audio)
        scale = mfcc.abs().max().item()
        row("mfcc: reflect padding (3 copies)", batch, stages.pad, audio)
        row("mfcc: frames x window (unfold)", batch, stages.windowed, padded)
        row("mfcc: rfft (n 400)", batch, stages.rfft, windowed)
        row("mfcc: power |X|^2 (abs, square)", batch, stages.power, spectrum)
        row("mfcc: mel product", batch, stages.mel, power)
        row("mfcc: dB and floor", batch, stages.db, mel)
        row("mfcc: DCT product and transpose", batch, stages.to_mfcc, mel_db)
        row("MFCC as in mfcc.cc", batch, stages.mfcc, audio)
        row("MFCC, power from view_as_real", batch, stages.mfcc_real_view, audio, mfcc, scale)
        row("MFCC, torch.stft layout, no transpose", batch, stages.mfcc_stft_layout, audio,
            mfcc, scale)
        torch.backends.cuda.matmul.allow_tf32 = False
        row("MFCC, DFT as fp32 matrix product", batch, stages.mfcc_dft_matmul, audio, mfcc,
            scale)
        torch.backends.cuda.matmul.allow_tf32 = True
        row("MFCC, DFT as TF32 matrix product", batch, stages.mfcc_dft_matmul, audio, mfcc,
            scale)
        torch.backends.cuda.matmul.allow_tf32 = False

        net = Net(time_frames).to(device).eval()
        with torch.no_grad():
            logits = net(mfcc)
        row("net: float32, NCHW (as critic_net.cc)", batch, net, mfcc)
        torch.backends.cudnn.allow_tf32 = False
        row("net: float32, cuDNN TF32 off", batch, net, mfcc, logits)
        torch.backends.cudnn.allow_tf32 = True
        last = net.to(memory_format=torch.channels_last)
        row("net: float32, channels-last", batch, last, mfcc, logits)

        def bf16(model):
            def run(x):
                # No weight-cast cache: a graph must not keep casts made outside it.
                with torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False):
                    return model(x).float()
            return run

        row("net: bfloat16 autocast, channels-last", batch, bf16(last), mfcc, logits)
        folded = Net(time_frames).to(device).eval()
        folded.load_state_dict(net.state_dict())
        folded.fold_norms()
        row("net: batch norms folded, float32", batch, folded, mfcc, logits)
        folded = folded.to(memory_format=torch.channels_last)
        row("net: folded, float32, channels-last", batch, folded, mfcc, logits)
        row("net: folded, bfloat16, channels-last", batch, bf16(folded), mfcc, logits)
        folded = folded.to(memory_format=torch.contiguous_format)

        net = net.to(memory_format=torch.contiguous_format)
        whole = lambda a: net(stages.mfcc(a))
        row("MFCC + net as dd-critic scores (no copy)", batch, whole, audio, logits)
        best = lambda a: folded(stages.mfcc_stft_layout(a))
        row("stft-layout MFCC + folded net, float32", batch, best, audio, logits)
        # A stage timed alone reads its input from the 60 MB L2 of an H200, where it was just
        # written; together the fold gained less than alone, so the whole is timed too.
        folded = folded.to(memory_format=torch.channels_last)
        now = lambda a: folded(stages.mfcc(a))
        row("MFCC + folded channels-last net (dd-critic since 3ab9d80)", batch, now, audio,
            logits)
        row("MFCC + net as dd-critic scored before it (again)", batch, whole, audio, logits)

        host32 = torch.empty(batch, CLIP, pin_memory=True).copy_(audio.cpu())
        host16 = (host32 * 32767).round().clamp(-32768, 32767).short().pin_memory()
        dev32 = torch.empty(batch, CLIP, device=device)
        dev16 = torch.empty(batch, CLIP, dtype=torch.int16, device=device)
        for name, host, dst in (("copy: float32 clips, page-locked", host32, dev32),
                                ("copy: int16 clips, page-locked", host16, dev16)):
            torch.cuda.synchronize()
            best_us = float("inf")
            for _ in range(5):
                start, end = torch.cuda.Event(True), torch.cuda.Event(True)
                start.record()
                for _ in range(opts.replays):
                    dst.copy_(host, non_blocking=True)
                end.record()
                end.synchronize()
                best_us = min(best_us, start.elapsed_time(end) * 1000 / opts.replays)
            rows.append((name, batch, best_us / batch, ""))
            print(f"{name:<58} {batch:>5} {best_us / batch:9.2f} us/clip", flush=True)
        row("int16 -> float32 on the device", batch, lambda x: x.float().mul_(1 / 32768), dev16)
        net = net.to(memory_format=torch.contiguous_format)
        for name, us in pipeline_rows(stages, net, folded, audio, opts.replays):
            rows.append((name, batch, us, ""))
            print(f"{name:<58} {batch:>5} {us:9.2f} us/clip", flush=True)

    print("\n| stage or formulation | batch | us per clip | largest difference |")
    print("|---|---|---|---|")
    for name, batch, us, diff in rows:
        print(f"| {name} | {batch} | {us:.2f} | {diff} |")


if __name__ == "__main__":
    main()
