"""Pure geometry shared by the tracker, training and metrics: crops and mapping back to the frame
(`seqtrack.geometry.crop`), boxes <-> tokens (`seqtrack.geometry.tokens`), box overlap
(`seqtrack.geometry.boxes`). Nothing here knows about files, models or benchmarks."""
