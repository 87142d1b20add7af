"""Online tracking: the `Tracker` (one or many targets, its state kept apart from the model) and the one
"initialise on the first frame, track the rest" loop (`seqtrack.tracking.loop.track_frames`).
Frame sources and box/video writers live in `seqtrack.io`; crop geometry in `seqtrack.geometry`."""
