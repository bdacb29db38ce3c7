"""Finding a YOLO dataset on disk: its class names, task, splits, images and label files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from keepsight.errors import AnnotationError, DatasetError, KeepsightError, ParseError, UnknownFormatError
from keepsight.formats._common.text import SPLIT_FOLDERS, folder_split, read_lines
from keepsight.formats.base import IMAGE_EXTENSIONS, ReadContext, iter_images, safe_join
from keepsight.formats.yolo.lines import TASKS
from keepsight.model.annotation import Split, normalize_split

NAMES_FILES = ("obj.names", "classes.txt")
LABEL_FOLDERS = ("labels", "Labels", "Annotations", "annotations")  # what replaces the last "images" folder
_SPLIT_ALIASES = {"train": ("train", "training"), "val": ("val", "valid", "validation"), "test": ("test", "testing")}
_MAX_YAML_BYTES = 1 << 20


@dataclass
class Dataset:
    root: Path
    names: dict[int, str]
    task: str
    kpt_shape: tuple[int, int] | None = None
    # Folders or .txt image lists, per split; empty means "scan the root, split from folder names".
    sources: list[tuple[Split | None, Path]] = field(default_factory=list)


def load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ParseError(f"malformed YAML: {exc}", path=path) from None
    if not isinstance(data, dict):
        raise ParseError("a dataset yaml must be a mapping with 'names' and 'train'/'val'/'test'", path=path)
    return data


def is_dataset_yaml(path: Path) -> bool:
    if path.suffix.lower() not in (".yaml", ".yml") or path.stat().st_size > _MAX_YAML_BYTES:
        return False
    try:
        data = load_yaml(path)
    except ParseError:
        return False
    return "names" in data and any(key in data for key in _SPLIT_ALIASES)


def find_config(folder: Path) -> tuple[str, Path] | None:
    """The file that declares the classes: ("yaml" | "darknet" | "names", path), data.yaml first."""
    yamls = sorted(folder.glob("*.y*ml"), key=lambda p: (p.name != "data.yaml", p.name))
    found = next((p for p in yamls if p.is_file() and is_dataset_yaml(p)), None)
    if found is not None:
        return "yaml", found
    if (folder / "obj.data").is_file():
        return "darknet", folder / "obj.data"
    return next((("names", folder / n) for n in NAMES_FILES if (folder / n).is_file()), None)


def config_kind(path: Path) -> str | None:
    if path.name == "obj.data":
        return "darknet"
    if path.name in NAMES_FILES:
        return "names"
    return "yaml" if is_dataset_yaml(path) else None


def _file_kind(path: Path) -> str:
    kind = config_kind(path)
    if kind is None and path.suffix.lower() not in (".yaml", ".yml"):
        raise UnknownFormatError("expected a dataset yaml, obj.data, obj.names or classes.txt", path=path)
    return kind or "yaml"


def load_dataset(path: Path, ctx: ReadContext) -> Dataset:
    """The dataset at ``path`` (a folder, or a data.yaml / obj.data / names file inside one)."""
    option = ctx.option("yolo_task", None)
    if option is not None and option not in TASKS:
        raise DatasetError(f"unknown yolo_task {option!r}; expected one of {', '.join(TASKS)}")
    root = path.parent if path.is_file() else path
    found = (_file_kind(path), path) if path.is_file() else find_config(path)
    if found is None and (path / "data.yaml").is_file():
        found = ("yaml", path / "data.yaml")  # not a dataset yaml: loading it says why
    if found is None:
        splits = classify_splits(root)
        if not splits:
            raise UnknownFormatError(
                "no data.yaml, obj.data, obj.names or classes.txt, and no <split>/<class>/ image folders", path=path
            )
        return Dataset(root, class_folder_names(splits), "classify", sources=splits)
    kind, config = found
    if kind == "yaml":
        return _from_yaml(config, root, option, ctx)
    if kind == "darknet":
        return _from_darknet(config, root, option, ctx)
    return Dataset(root, names_file(config), option or "detect")


def names_file(path: Path) -> dict[int, str]:
    names = [line.strip() for line in read_lines(path) if line.strip()]
    if not names:
        raise AnnotationError("the names file declares no class", path=path)
    return dict(enumerate(names))


def _names(value: object, config: Path) -> dict[int, str]:
    if isinstance(value, list):
        return {i: str(name) for i, name in enumerate(value)}
    if isinstance(value, dict):
        try:
            return {int(k): str(v) for k, v in value.items()}
        except ValueError:
            raise ParseError("'names' keys must be integer class ids", path=config, element="names") from None
    raise ParseError("'names' must be a list or an {id: name} mapping", path=config, element="names")


def _task(option: str | None, data: dict[str, Any], config: Path) -> str:
    task = option or data.get("task")
    if task is None:
        if "kpt_shape" in data:
            return "pose"
        # Ultralytics' OBB yamls (dota8.yaml, DOTAv1.yaml) do not say "obb": their name does.
        stem = config.stem.lower()
        return "obb" if "obb" in stem or "dota" in stem else "detect"
    if task not in TASKS:
        raise ParseError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}", path=config, element="task")
    return str(task)


def _kpt_shape(value: object, config: Path) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value) and value[1] in (2, 3):
        return value[0], value[1]
    raise ParseError(f"kpt_shape must be [keypoints, 2 or 3], got {value!r}", path=config, element="kpt_shape")


def _from_yaml(config: Path, root: Path, option: str | None, ctx: ReadContext) -> Dataset:
    data = load_yaml(config)
    if "names" not in data:
        raise ParseError("no 'names' key: a YOLO dataset yaml declares its classes", path=config)
    dataset = Dataset(root, _names(data.get("names"), config), _task(option, data, config))
    dataset.kpt_shape = _kpt_shape(data.get("kpt_shape"), config)
    base = _base(root, data.get("path"))
    seen: set[Path] = set()
    # A folder listed under two keys (often `val` = the test images) is read once, as its
    # first split in this order: a stand-in `val` must not turn test images into val ones.
    for key in ("train", "test", "val"):
        for entry in _entries(data.get(key), config, key):
            try:
                source = _split_source(base, root, key, entry, config)
            except KeepsightError as err:
                ctx.problem(err)
                continue
            if source.resolve() not in seen:
                seen.add(source.resolve())
                dataset.sources.append((normalize_split(key), source))
    return dataset


def _base(root: Path, path_value: object) -> Path:
    # ``path`` is relative to Ultralytics' working directory or absolute on the writer's machine,
    # so it only helps when it names a folder inside the dataset.
    if isinstance(path_value, str) and path_value.strip():
        rel = path_value.strip().replace("\\", "/")
        if not rel.startswith("/") and ".." not in rel.split("/") and (root / rel).is_dir():
            return root / rel
    return root


def _entries(value: object, config: Path, key: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ParseError(f"'{key}' must be a folder, an image list or a list of them", path=config, element=key)


def _split_source(base: Path, root: Path, key: str, entry: str, config: Path) -> Path:
    """The folder or list of one split; a stale absolute or missing entry falls back on the usual folders."""
    problem: KeepsightError
    try:
        target = resolve(entry, [base], origin=config, element=key)
        if target.exists():
            return target
        problem = AnnotationError(f"split folder {entry!r} does not exist", path=config, element=key)
    except KeepsightError as err:
        problem = err
    for alias in _SPLIT_ALIASES[key]:
        for candidate in (root / "images" / alias, root / alias / "images", root / alias):
            if candidate.is_dir():
                return candidate
    raise problem


def resolve(value: str, bases: list[Path], *, origin: Path, element: str) -> Path:
    """A path written in a yaml, obj.data or image list, inside the dataset (the first that exists)."""
    rel = value.strip().replace("\\", "/").removeprefix("./")
    if rel.startswith("../"):  # Ultralytics and Roboflow: "../train/images" from a yaml in the root
        rel = rel[3:]
    variants = [rel, rel[5:]] if rel.startswith("data/") else [rel]  # darknet: "data/" is the dataset folder
    paths = [safe_join(base, v, origin=origin, element=element) for base in bases for v in variants]
    return next((p for p in paths if p.exists()), paths[0])


def _from_darknet(config: Path, root: Path, option: str | None, ctx: ReadContext) -> Dataset:
    entries: dict[str, str] = {}
    for number, line in enumerate(read_lines(config), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            if not sep:
                raise ParseError(f"expected 'key = value', got {line.strip()!r}", path=config, element=f"line {number}")
            entries[key.strip()] = value.strip()
    names_path = resolve(entries.get("names", "obj.names"), [root], origin=config, element="names")
    dataset = Dataset(root, names_file(names_path), option or "detect")
    for key, split in (("train", "train"), ("valid", "val"), ("test", "test")):
        if key in entries:
            try:
                listed = resolve(entries[key], [root], origin=config, element=key)
                if not listed.is_file():
                    raise AnnotationError(f"image list {entries[key]!r} does not exist", path=config, element=key)
                dataset.sources.append((split, listed))  # type: ignore[arg-type]
            except KeepsightError as err:
                ctx.problem(err)
    return dataset


def dataset_images(dataset: Dataset, ctx: ReadContext) -> Iterator[tuple[Path, Split | None]]:
    """Each image once (the first split that lists it wins), in a stable order."""
    if not dataset.sources:
        for image in iter_images(dataset.root):
            yield image, split_from_parts(image.relative_to(dataset.root).parts[:-1])
        return
    seen: set[Path] = set()
    for split, source in dataset.sources:
        images = _listed_images(source, dataset.root, ctx) if source.is_file() else iter_images(source)
        for image in images:
            if image not in seen:
                seen.add(image)
                yield image, split


def _listed_images(listing: Path, root: Path, ctx: ReadContext) -> Iterator[Path]:
    for number, line in enumerate(read_lines(listing), 1):
        if line.strip():
            try:
                yield resolve(line, [listing.parent, root], origin=listing, element=f"line {number}")
            except KeepsightError as err:
                ctx.problem(err)


def split_from_parts(parts: tuple[str, ...]) -> Split | None:
    return next((s for s in map(folder_split, parts) if s is not None), None)


def label_for(image: Path, root: Path) -> Path | None:
    """The label file: the last ``images`` folder replaced by ``labels`` (or next to the image)."""
    parts = image.relative_to(root).parts
    at = max((i for i, part in enumerate(parts[:-1]) if part.lower() == "images"), default=None)
    candidates = []
    if at is not None:
        candidates = [root.joinpath(*parts[:at], f, *parts[at + 1 :]).with_suffix(".txt") for f in LABEL_FOLDERS]
    candidates.append(image.with_suffix(".txt"))
    return next((c for c in candidates if c.is_file()), None)


def classify_splits(root: Path) -> list[tuple[Split | None, Path]]:
    """Top-level split folders holding class folders of images (``train/<class>/*.jpg``)."""
    splits = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name.lower() in SPLIT_FOLDERS):
        classes = [d for d in folder.iterdir() if d.is_dir()]
        if any(d.name in ("images", "labels", "labelTxt") for d in classes):
            continue  # a detection split (Roboflow's train/images + train/labels)
        if any(_has_image(d) for d in classes[:5]):
            splits.append((folder_split(folder.name), folder))
    return splits


def _has_image(folder: Path) -> bool:
    return any(p.suffix.lower() in IMAGE_EXTENSIONS for p in folder.iterdir())


def class_folder_names(splits: list[tuple[Split | None, Path]]) -> dict[int, str]:
    names = sorted({d.name for _, folder in splits for d in folder.iterdir() if d.is_dir()})
    return dict(enumerate(names))
