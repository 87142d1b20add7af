"""Files in and out at the edge of the library, below everything that tracks or trains.

* `seqtrack.io.images`: ``read_rgb``, the one image reader (``(H, W, 3)`` uint8 RGB).
* `seqtrack.io.sources`: frame sources (video file, image folder, glob, camera) behind one iterator.
* `seqtrack.io.boxes`: box files (``BoxWriter``, ``read_box_file``) and the benchmark result layouts.
* `seqtrack.io.annotate`: drawing boxes on a frame (``annotate_frame``, ``PALETTE``).
* `seqtrack.io.video`: the annotated video writer (PyAV / OpenCV H.264, mp4v, MJPG).

Nothing is imported here: each module loads its own optional dependencies (PyAV) only when used.
"""
