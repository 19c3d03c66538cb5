#!/usr/bin/python3
"""Time per Train call against a running dd-critic, one new rating per call, as the session
service sends them. Complements dd_critic_bench, which trains in process on the main thread: here
the round runs inside the service, on a gRPC handler thread, and includes persisting the version.

    ./deploy/local/up && /usr/bin/python3 tests/bench/critic/train_over_grpc.py \
        [--address=127.0.0.1:50052] [--ratings=22] [--minibatches=40]

Uses Debian's python3-grpcio and the message classes the build generates under
build/proto/python. The first 16 ratings warm up (minibatches reach their full 8 + 8 clips);
the table covers the rest.
"""
import argparse
import array
import pathlib
import random
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "build" / "proto" / "python"))

import grpc  # noqa: E402
from deepdrummer.v1 import critic_pb2, critic_pb2_grpc, loop_pb2  # noqa: E402

CLIP_FRAMES = 88200  # One 2 s bar at 44.1 kHz, what the critic hears.
WARM_UP = 16


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--address", default="127.0.0.1:50052")
    parser.add_argument("--ratings", type=int, default=22)
    parser.add_argument("--minibatches", type=int, default=40)
    args = parser.parse_args()
    if args.ratings <= WARM_UP:
        parser.error(f"--ratings must be above the {WARM_UP} warm-up ratings")

    channel = grpc.insecure_channel(args.address,
                                    options=[("grpc.max_send_message_length", 64 << 20)])
    stub = critic_pb2_grpc.CriticServiceStub(channel)
    config = critic_pb2.CriticConfig(seed=1, minibatches_per_rating=args.minibatches)
    critic = stub.CreateCritic(critic_pb2.CreateCriticRequest(config=config), timeout=30)

    rng = random.Random(1)
    clips = [array.array("f", (rng.gauss(0.0, 0.1) for _ in range(CLIP_FRAMES))).tobytes()
             for _ in range(8)]
    seconds = []
    for i in range(args.ratings):
        example = critic_pb2.Example(
            example_id=f"bench-{i}",
            rating=loop_pb2.RATING_LIKE if i % 2 == 0 else loop_pb2.RATING_DISLIKE,
            audio=loop_pb2.PcmAudio(sample_rate=44100, samples_f32le=clips[i % len(clips)]))
        start = time.monotonic()
        stub.Train(critic_pb2.TrainRequest(critic_id=critic.critic_id, examples=[example]),
                   timeout=120)
        seconds.append(time.monotonic() - start)

    timed = seconds[WARM_UP:]
    print(f"Train over gRPC at {args.address}, {args.minibatches} minibatches per rating, "
          f"{len(timed)} ratings after {WARM_UP} warm-up")
    print("| measure | seconds |")
    print("|---|---|")
    print(f"| mean | {statistics.mean(timed):.2f} |")
    print(f"| median | {statistics.median(timed):.2f} |")
    print(f"| min / max | {min(timed):.2f} / {max(timed):.2f} |")


if __name__ == "__main__":
    main()
