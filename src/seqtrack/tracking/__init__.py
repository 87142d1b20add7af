"""Online tracking: crop geometry, the tracker, frame sources and result sinks."""
