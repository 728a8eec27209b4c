"""Cut the benchmark clip from a shared selfie clip: 5 s, 30 fps, 720p (or 480p), H.264.

    python benchmarks/make_clip.py [--height 720] [--out var/bench/selfie_720p_5s.mp4]

The source (driving_d9, 30 fps, 512x480) is scaled to the target height and centred on a
16:9 canvas, as a phone's front camera would frame it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import av
import cv2
import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
SOURCE = PROJECT.parent / "shared" / "facedata" / "videos" / "selfie" / "driving_d9.mp4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--start", type=float, default=9.0, help="seconds into the source")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    height = args.height
    width = height * 16 // 9 // 2 * 2
    out_path = args.out or PROJECT / "var" / "bench" / f"selfie_{height}p_{int(args.seconds)}s.mp4"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    src = av.open(str(args.source))
    out = av.open(str(out_path), "w")
    stream = out.add_stream("libx264", rate=30)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.options = {"crf": "23", "preset": "veryfast"}
    written = 0
    for frame in src.decode(src.streams.video[0]):
        if float(frame.time or 0) < args.start:
            continue
        image = frame.to_ndarray(format="bgr24")
        scaled = cv2.resize(image, (round(image.shape[1] * height / image.shape[0]), height))
        canvas = np.zeros((height, width, 3), dtype=np.uint8)
        x = (width - scaled.shape[1]) // 2
        canvas[:, x : x + scaled.shape[1]] = scaled
        for packet in stream.encode(av.VideoFrame.from_ndarray(canvas, format="bgr24")):
            out.mux(packet)
        written += 1
        if written >= int(args.seconds * 30):
            break
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    src.close()
    print(f"{out_path} frames={written} size={width}x{height}")  # noqa: T201


if __name__ == "__main__":
    main()
