"""Datasets (one reader a dataset behind the `Sequence` record), pair sampling, processing, and the
semi-real synthetic generator used for CPU training, tests and a benchmark split."""
