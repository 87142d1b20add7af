"""Models by name: ``demo``, ``b256`` ... ``l384_got``, resolved to local weights files.

Nothing is ever downloaded. The demo model ships inside the package; the official checkpoints are
files the user puts under ``$SEQTRACK_HOME`` (default ``~/.cache/seqtrack``), either as released
(``seqtrack_b256/SEQTRACK_ep0500.pth.tar``) or converted by ``seqtrack convert`` (``seqtrack_b256.safetensors``,
faster to load). A registered sha256 is checked before a file is used.

This module imports neither torch nor the network, so ``seqtrack models`` answers at once.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from seqtrack.errors import CheckpointError, safe_text

HOME_VARIABLE = "SEQTRACK_HOME"
OFFICIAL_RELEASE = (
    "the official SeqTrack release (microsoft/VideoX, SeqTrack MODEL_ZOO; the file the official "
    "test code loads is SEQTRACK_ep0500.pth.tar in the folder named after the config)"
)


@dataclass(frozen=True)
class RegisteredModel:
    """One named model.

    Attributes:
        name: what users type (``--weights b256``, ``load_model("b256")``).
        preset: the `ModelConfig` preset its network is built from (None: the file stores its config).
        summary: one line for ``seqtrack models``.
        parameters: number of parameters (from the network definition; official sizes as measured).
        files: where the weights may be, relative to ``$SEQTRACK_HOME``, in order of preference.
        packaged: a file inside the installed ``seqtrack`` package (tried first), or None.
        sha256: expected digest of the file (checked when known), or None.
        release: where an absent file comes from, for the error message; None for packaged models.
    """

    name: str
    preset: str | None
    summary: str
    parameters: int
    files: tuple[str, ...] = ()
    packaged: str | None = None
    sha256: str | None = None
    release: str | None = None


def _official(name: str, preset: str, parameters: int, data: str) -> RegisteredModel:
    folder = f"seqtrack_{name}"
    return RegisteredModel(
        name=name,
        preset=preset,
        parameters=parameters,
        summary=f"official SeqTrack-{preset.upper()}, trained on {data}",
        files=(f"{folder}.safetensors", f"{folder}/SEQTRACK_ep0500.pth.tar"),
        release=OFFICIAL_RELEASE.replace("named after the config", f"'{folder}'"),
    )


_FULL = "LaSOT, GOT-10k, TrackingNet and COCO"
_GOT = "GOT-10k train only (for the GOT-10k test protocol)"
DEMO_FILE = "assets/seqtrack_demo.safetensors"
REGISTRY: dict[str, RegisteredModel] = {
    entry.name: entry
    for entry in (
        RegisteredModel(
            name="demo",
            preset=None,
            parameters=3_604_527,
            packaged=DEMO_FILE,
            summary="small demo model (ViT-Tiny 6 blocks, 128 px search), trained on generated data on a CPU",
            sha256="f2f5c310825e5eed86046c2d43964843d346db2a0bca9c778b6b31b4f0002e07",
        ),
        _official("b256", "b256", 90_596_002, _FULL),
        _official("b384", "b384", 91_169_442, _FULL),
        _official("l256", "l256", 308_244_898, _FULL),
        _official("l384", "l384", 308_982_178, _FULL),
        _official("b256_got", "b256", 90_596_002, _GOT),
        _official("b384_got", "b384", 91_169_442, _GOT),
        _official("l256_got", "l256", 308_244_898, _GOT),
        _official("l384_got", "l384", 308_982_178, _GOT),
    )
}


def seqtrack_home() -> Path:
    """The folder named models are looked up in: ``$SEQTRACK_HOME`` or ``~/.cache/seqtrack``."""
    return Path(os.environ.get(HOME_VARIABLE) or Path.home() / ".cache" / "seqtrack").expanduser()


def _packaged_path(relative: str) -> Path:
    return Path(str(resources.files("seqtrack").joinpath(relative)))


def candidates(entry: RegisteredModel) -> list[Path]:
    """Every place the model's weights may be, in the order they are tried."""
    found = [_packaged_path(entry.packaged)] if entry.packaged else []
    return found + [seqtrack_home() / relative for relative in entry.files]


def find(entry: RegisteredModel) -> Path | None:
    """The first existing file of a registered model, or None (no digest check)."""
    return next((path for path in candidates(entry) if path.is_file()), None)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def missing_message(entry: RegisteredModel) -> str:
    """What to do when a registered model has no file: its expected names, its source, where to put it."""
    places = " or ".join(str(path) for path in candidates(entry))
    source = f"; it comes from {entry.release}" if entry.release else "; reinstall seqtrack"
    return (
        f"model {entry.name!r} ({entry.summary}) is not on this machine: expected {places}{source}. "
        f"Put the file there (or set {HOME_VARIABLE} to the folder holding it); nothing is downloaded"
    )


def resolve_weights(name_or_path: str | os.PathLike[str]) -> Path:
    """The weights file behind a registered name or a path.

    An existing file wins over a name (a file called ``demo`` in the working folder is that file); a folder
    does not (weights are files: ``seqtrack demo --out-dir demo`` makes a folder ``demo`` beside the command).
    Raises:
        CheckpointError: an unknown name that is no file, a registered model whose file is absent (the
            message names the expected files and where they come from), or a digest mismatch.
    """
    path = Path(name_or_path).expanduser()
    entry = REGISTRY.get(str(name_or_path).lower())
    if path.is_file() or (path.exists() and entry is None):
        return path
    if entry is None:
        if path.suffix or len(path.parts) > 1:  # written as a path: no list of names to distract
            raise CheckpointError(safe_text(f"weights file not found: {name_or_path}"))
        names = ", ".join(REGISTRY)
        raise CheckpointError(
            safe_text(f"weights file not found: {name_or_path} (and it is not a model name: {names})")
        )
    found = find(entry)
    if found is None:
        raise CheckpointError(safe_text(missing_message(entry)))
    if entry.sha256 is not None and sha256_of(found) != entry.sha256:
        raise CheckpointError(
            safe_text(
                f"{found} does not have the sha256 registered for model {entry.name!r} "
                f"({entry.sha256[:16]}...): the file is damaged or a different model"
            )
        )
    return found


__all__ = [
    "REGISTRY",
    "RegisteredModel",
    "resolve_weights",
    "seqtrack_home",
    "find",
    "candidates",
    "missing_message",
    "sha256_of",
    "HOME_VARIABLE",
]
