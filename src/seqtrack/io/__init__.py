"""Files in and out at the edge of the library, below everything that tracks or trains.

* `seqtrack.io.images`: ``read_rgb``, the one image reader (``(H, W, 3)`` uint8 RGB).
* `seqtrack.io.sources`: `open_source`, frame sources behind one iterator: `frame_source` (the base, with
  the end-of-video ``note``), `image_source` (folders, globs), `video_source` (files, stream URLs, cameras).
* `seqtrack.io.boxes`: box files (``BoxWriter``, ``read_box_file``) and the benchmark result layouts.
* `seqtrack.io.annotate`: drawing boxes on a frame (``annotate_frame``, ``PALETTE``).
* `seqtrack.io.video`: the annotated video writer (PyAV / OpenCV H.264, mp4v, MJPG).
* `seqtrack.io.files`: safe writing for every writer: outputs that are inputs refused, destinations
  checked up front, atomic replace, whole lines only, interrupts held during a frame's write.
* `seqtrack.io.debian_packages`: ``apt-get download`` / ``dpkg-deb -x`` behind one injectable runner and
  one-line errors (the generator's photographs, the real-footage sources).

Nothing is imported here: each module loads its own optional dependencies (PyAV) only when used.
"""
