"""Montage of chosen frames of a video (e.g. the annotated ``demo/tracked.mp4``), labelled by index.

.venv/bin/python benchmarks/video_frames.py demo/tracked.mp4 0,10,20,30 out.png [--width 320]
"""

from __future__ import annotations

import argparse
import sys

import cv2
import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video")
    parser.add_argument("frames", help="comma-separated 0-based frame indices of the video")
    parser.add_argument("out", help="image file to write (.png, .jpg)")
    parser.add_argument("--width", type=int, default=320, help="width of each tile in pixels")
    parser.add_argument("--columns", type=int, default=4)
    args = parser.parse_args(argv)
    wanted = sorted({int(x) for x in args.frames.split(",")})
    capture = cv2.VideoCapture(args.video)
    if not capture.isOpened():
        print(f"error: cannot open video {args.video}", file=sys.stderr)
        return 2
    tiles, index = {}, 0
    while index <= wanted[-1]:
        ok, frame = capture.read()
        if not ok:
            break
        if index in wanted:
            scale = args.width / frame.shape[1]
            tile = cv2.resize(frame, (args.width, round(frame.shape[0] * scale)), interpolation=cv2.INTER_AREA)
            cv2.putText(tile, f"frame {index}", (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
            tiles[index] = tile
        index += 1
    missing = [i for i in wanted if i not in tiles]
    if missing:
        print(f"error: {args.video} has no frame {missing[0]} (it has {index})", file=sys.stderr)
        return 2
    images = [tiles[i] for i in wanted]
    blank = np.zeros_like(images[0])
    while len(images) % args.columns:
        images.append(blank)
    rows = [np.concatenate(images[r : r + args.columns], axis=1) for r in range(0, len(images), args.columns)]
    cv2.imwrite(args.out, np.concatenate(rows, axis=0))
    print(f"wrote {args.out} ({len(wanted)} frames)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
