"""SeqTrack as a TraX tracker of the VOT toolkit (``pip install vot-toolkit vot-trax``).

The VOT toolkit starts the tracker as a separate process and talks to it over TraX: an INITIALIZE
message (image path + rectangle), then one FRAME message per frame, each answered with one rectangle
and properties (here ``confidence``). This module is that process::

    python -m seqtrack.integrations.vot --weights b256 [--settings official] [--updates vot20]

and `write_trackers_ini` writes the workspace's ``trackers.ini`` entry that runs it. Rectangles are
``xywh`` top-left pixels, which is also TraX's rectangle. The ``trax`` module of the ``vot-trax``
package is imported only when the server starts (the PyPI package named ``trax`` is unrelated).
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np

from seqtrack.errors import InputError

_INSTALL_HINT = "the VOT TraX server needs the 'trax' module of the vot-trax package: pip install vot-trax"
#: ``TrackResult.score`` is ``10 x`` the sum of four token probabilities: at most 40.
_SCORE_MAX = 40.0


def import_trax() -> ModuleType:
    """The ``trax`` module of ``vot-trax``; `InputError` with the install line when it is missing (or when
    an unrelated ``trax`` without a TraX ``Server`` is installed)."""
    try:
        import trax
    except ImportError:
        raise InputError(_INSTALL_HINT) from None
    if not hasattr(trax, "Server"):
        raise InputError(_INSTALL_HINT + " (the installed 'trax' module is another package)")
    return trax


def read_rgb(path: str | Path) -> np.ndarray:
    """The image at ``path`` as ``(H, W, 3)`` uint8 RGB; `InputError` if it cannot be decoded."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(f"cannot read the image {path} the VOT toolkit sent")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class VotSession:
    """What the server does with each TraX message, without TraX (so it is testable alone).

    Args:
        tracker: a `seqtrack.tracking.tracker.Tracker` (anything with ``init``/``track`` returning results
            with ``box`` and ``score``); ``init`` restarts it, so one session serves every INITIALIZE.
    """

    def __init__(self, tracker: Any) -> None:
        self.tracker = tracker
        self.started = False

    def initialize(self, image_path: str, box_xywh: Any) -> tuple[list[float], float]:
        """Start on a new target: returns the given box and confidence 1 (the box is the ground truth)."""
        box = np.asarray(box_xywh, dtype=np.float64)
        self.tracker.init(read_rgb(image_path), box)
        self.started = True
        return box.tolist(), 1.0

    def frame(self, image_path: str) -> tuple[list[float], float]:
        """The ``xywh`` box in the next frame and the confidence: the official score scaled to [0, 1]."""
        if not self.started:
            raise InputError("the VOT toolkit sent a frame before any initialisation")
        result = self.tracker.track(read_rgb(image_path))
        score = float(result.score)
        confidence = score / _SCORE_MAX if math.isfinite(score) else 0.0
        return np.asarray(result.box, dtype=np.float64).tolist(), confidence


def _image_path(request: Any) -> str:
    # The server asks for the colour channel as file paths only, so the client sends exactly that.
    return request.image["color"].path()


def serve(session: VotSession, trax: ModuleType | None = None) -> int:
    """Answer TraX requests on stdin/stdout until the client quits; returns the number of frames served.

    Single-target: the first object of an INITIALIZE is tracked (the server announces rectangles, so the
    client converts polygons to their bounding rectangles before sending).
    """
    trax = trax or import_trax()
    served = 0
    with trax.Server([trax.Region.RECTANGLE], [trax.Image.PATH]) as server:
        while True:
            request = server.wait()
            if request.type == trax.TraxStatus.QUIT:
                return served
            if request.type == trax.TraxStatus.INITIALIZE:
                region = request.objects[0][0]
                box, confidence = session.initialize(_image_path(request), region.bounds())
            else:
                box, confidence = session.frame(_image_path(request))
            served += 1
            server.status([(trax.Rectangle.create(*box), {"confidence": confidence})])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m seqtrack.integrations.vot", description="SeqTrack as a TraX tracker for the VOT toolkit."
    )
    parser.add_argument("--weights", required=True, help="registered model name or weights file")
    parser.add_argument("--settings", default="weights", choices=("weights", "official"))
    parser.add_argument("--updates", default="default", help="template-update preset (e.g. vot20)")
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="fp32")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads of the network")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m seqtrack.integrations.vot``: load the tracker, then serve TraX."""
    args = _parser().parse_args(argv)
    trax = import_trax()  # before the model loads: a missing package is reported at once
    from seqtrack.tracking.tracker import Tracker

    tracker = Tracker.from_pretrained(
        args.weights,
        settings=args.settings,
        updates=args.updates,
        backend=args.backend,
        device=args.device,
        dtype=args.dtype,
        threads=args.threads,
    )
    serve(VotSession(tracker), trax)
    return 0


def tracker_command(weights: str | Path, python: str | Path = sys.executable, **options: Any) -> str:
    """The command line the toolkit runs (it splits it with `shlex`, without a shell, from a temporary
    folder: so the interpreter and a weights file are absolute). ``options``: `main`'s flags, e.g.
    ``settings="official"``, ``threads=1``; None values are left out."""
    weights = str(Path(weights).resolve()) if Path(weights).exists() else str(weights)
    words = [str(Path(python).absolute()), "-m", "seqtrack.integrations.vot", "--weights", weights]
    for key, value in options.items():
        if value is not None:
            words += ["--" + key.replace("_", "-"), str(value)]
    return shlex.join(words)


def write_trackers_ini(
    workspace: str | Path,
    weights: str | Path,
    python: str | Path = sys.executable,
    *,
    name: str = "seqtrack",
    **options: Any,
) -> Path:
    """Write ``workspace/trackers.ini`` with one TraX tracker ``name`` running `tracker_command`.

    An existing file is replaced: the workspace then lists this tracker only. Returns the file's path.
    """
    if not name.replace("_", "").replace("-", "").isalnum():
        raise InputError(f"a VOT tracker name is letters, digits, '-' and '_', got {name!r}")
    # The toolkit reads the file with configparser's interpolation: a literal '%' must be doubled.
    command = tracker_command(weights, python, **options).replace("%", "%%")
    path = Path(workspace) / "trackers.ini"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[{name}]\nlabel = {name}\nprotocol = trax\ncommand = {command}\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    try:
        sys.exit(main())
    except InputError as error:  # one line on stderr (the toolkit shows the tracker's log), not a traceback
        print(f"seqtrack.integrations.vot: error: {error}", file=sys.stderr)
        sys.exit(2)
