"""Adapters that let other tools drive the SeqTrack tracker.

* `seqtrack.integrations.got10k`: `SeqTrackTracker`, a tracker of the official GOT-10k toolkit
  (``pip install got10k``), so its experiments (``ExperimentGOT10k``, ``ExperimentOTB`` ...) run SeqTrack.

Nothing is imported here: each adapter loads its third-party toolkit only when it is used, so this
package imports without any of them.
"""
