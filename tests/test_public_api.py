"""The public API is exactly what __all__ lists (httpx's tests/test_exported_members.py pattern)."""

import keepsight

EXPECTED = {
    "Annotation", "AnnotationError", "Box", "ClassSpec", "ConflictError", "Dataset", "DatasetError", "ExportReport",
    "FormatError", "ImageError", "ImportReport", "IntegrityError", "KeepsightError", "LabelBook", "Mask",
    "ParseError", "Points", "Polygon", "Polyline", "RotatedBox", "Sample", "StorageError", "Tag",
    "UnknownFormatError", "UnsafePathError", "__version__", "dataset_info", "detect_all", "detect_format",
    "export_dataset", "format_names", "import_path",
}


def test_all_is_pinned() -> None:
    assert set(keepsight.__all__) == EXPECTED


def test_every_exported_name_exists_and_belongs_to_keepsight() -> None:
    for name in keepsight.__all__:
        member = getattr(keepsight, name)
        if name != "__version__":
            assert member.__module__.startswith("keepsight."), name


def test_every_error_derives_from_the_root() -> None:
    for name in keepsight.__all__:
        member = getattr(keepsight, name)
        if isinstance(member, type) and name.endswith("Error"):
            assert issubclass(member, keepsight.KeepsightError)
