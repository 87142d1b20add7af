"""Semi-real tracking sequences built from the photographs that scikit-image ships in its wheel.

Each sequence: a textured target (a region of a real image under a smooth random alpha shape: blob,
ellipse, polygon, or a colour segment that follows the image's own edges) moving over a real
background seen through a moving camera (pan that follows the target with a lag, zoom, slight shake).
The target changes scale, rotation and aspect ratio smoothly; the scene has global illumination
drift and a light gradient, the target its own shading change; motion blur follows the target's and
the camera's speed; distractors cut from the SAME image (same shape family) wander near the target,
some of them in front of it; other cut-outs cross in front of it or stand still as pillars (partial
and full occlusion); in some sequences the camera loses the target, which leaves the view and comes
back. All motion is integrated from smooth, noisy velocities (no teleporting).

Ground truth (box convention): the FULL extent of the target, occluded parts included, clipped to the
frame — the tight ``xywh`` box (pixel edges, integers) of the pixels where the target's rendered,
un-blurred alpha is ≥ 0.5 before anything is drawn over it; ``0,0,0,0`` when the target is entirely
outside the frame. ``absence`` = 1 when less than 1 % of the target's area is visible (outside the
frame or hidden); ``cover`` = GOT-10k-style visibility level of the visible fraction ``f``: 0 for
absent, then 1..7 for ``f`` in (0, 15 %], (15, 30], (30, 45], (45, 60], (60, 75], (75, 90], (90, 99.5),
and 8 for fully visible. Frame 0 always shows the whole target unoccluded.

Written in the GOT-10k layout (``list.txt``, ``<seq>/00000001.jpg``, ``groundtruth.txt``,
``absence.label``, ``cover.label``, ``meta_info.ini``), so `seqtrack.data.got10k` reads it.
Everything is a pure function of (seed, split, sequence index, settings); train and test use disjoint
source images (`SOURCE_SPLITS`) and independent random streams.

Closer to real video (all off by default, so the default output stays bit-identical): a photo folder
(``--photos DIR``, filled from Debian packages by ``python -m seqtrack.data.synthetic.photo_packages DIR``:
photographs, and object photographs with their real outline as cut-out targets; split train / val / test
by a hash of each file name), and realism effects (`SyntheticConfig` options, ``--realism`` for the preset
mix, `settings.realistic`): slowly changing out-of-plane warps of the target, white-balance and exposure
drift, per-frame JPEG and whole-sequence H.264 compression, rolling-shutter skew, camera shake and roll,
slow large targets (30-70 % of the frame); motion blur along the motion as before. Ground truth stays
exact under every effect (geometric effects act through each layer's own transform; see ``fx``).

Modules: ``sources`` (photographs, procedural collages, splits), ``photos`` (photo folders),
``photo_packages`` (fetching photographs from Debian packages), ``sprites`` (shapes and cut-outs),
``motion`` (walks, trajectories, camera, blur kernels), ``fx`` (realism effects), ``render`` (layers and
compositing), ``scene`` (every random draw of one sequence), ``sequence`` (`generate_sequence`: plan,
render, ground truth), ``dataset`` (writing and reading datasets), ``settings`` (`SyntheticConfig`),
``__main__`` (command line).

Command line: ``python -m seqtrack.data.synthetic ROOT --sequences 100 --frames 100 --split train
[--photos DIR] [--realism]``. Speed (measured, one process, OMP_NUM_THREADS=1, generation + JPEG + disk,
20 sequences of 100 frames at 320×240): default 1.5-1.75 sequences/s (150-175 frames/s); ``--realism``
0.97 sequences/s; ``--realism --photos DIR`` 0.92 sequences/s (about 1.7x the default's time).
"""

from __future__ import annotations

from seqtrack.data.synthetic.dataset import synthetic_dataset, write_dataset, write_sequence
from seqtrack.data.synthetic.sequence import SyntheticSequence, cover_level, generate_sequence
from seqtrack.data.synthetic.settings import SyntheticConfig, realistic
from seqtrack.data.synthetic.sources import SKIMAGE_FILES, SOURCE_SPLITS

__all__ = [
    "SKIMAGE_FILES",
    "SOURCE_SPLITS",
    "SyntheticConfig",
    "realistic",
    "SyntheticSequence",
    "generate_sequence",
    "write_dataset",
    "write_sequence",
    "synthetic_dataset",
    "cover_level",
]
