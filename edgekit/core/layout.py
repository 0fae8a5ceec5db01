"""The build layout: every path of one model's directory ``build/<model>/``, in one place.

Each stage writes under its own folder (docs/pipeline.md, "Pipeline stages and their files"); the
records of a stage are read by the later ones. A stage asks :class:`ModelLayout` for a path instead of
joining strings, so a file is named once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelLayout:
    """``build/<model>/`` (``root``) and the files and folders the stages keep in it."""

    root: Path

    @classmethod
    def of(cls, build_dir: str | Path, model: str) -> ModelLayout:
        return cls(Path(build_dir) / model)

    # data stage
    @property
    def windows(self) -> Path:
        return self.root / "data" / "windows.npz"

    @property
    def data_summary(self) -> Path:
        return self.root / "data" / "summary.json"

    # train stage
    @property
    def train_dir(self) -> Path:
        return self.root / "train"

    @property
    def checkpoint(self) -> Path:
        return self.train_dir / "model.pt"

    @property
    def train_record(self) -> Path:
        return self.train_dir / "metrics.json"

    @property
    def history(self) -> Path:
        return self.train_dir / "history.json"

    @property
    def test_set(self) -> Path:
        return self.train_dir / "test_set.npz"

    @property
    def split(self) -> Path:
        return self.train_dir / "split.json"

    # convert stage
    @property
    def onnx(self) -> Path:
        return self.root / "onnx" / "model.onnx"

    @property
    def coreml_dir(self) -> Path:
        return self.root / "coreml"

    def mlpackage(self, variant: str) -> Path:
        return self.coreml_dir / f"{variant}.mlpackage"

    @property
    def convert_record(self) -> Path:
        return self.coreml_dir / "convert.json"

    # verify stage
    @property
    def parity_record(self) -> Path:
        return self.root / "verify" / "parity.json"

    # the person scenario (edgekit evaluate --person) and the stamps of the build
    @property
    def person_record(self) -> Path:
        return self.root / "person" / "person.json"

    def stamp(self, stage: str) -> Path:
        return self.root / ".stamps" / f"{stage}.json"

    def relative(self, path: Path) -> str:
        """``path`` relative to ``build/<model>/``, with ``/`` (how records and reports name files)."""
        return path.relative_to(self.root).as_posix()


#: Paths relative to ``build/<model>/`` (how records cite each other).
RELATIVE = ModelLayout(Path("."))
