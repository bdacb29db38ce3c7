"""keepsight: keep the training dataset of a machine-vision inspection model healthy.

The public API is what ``__all__`` lists (pinned by ``tests/test_public_api.py``);
everything else is internal and may change.
"""

from keepsight.dataset import Dataset
from keepsight.errors import (
    AnnotationError,
    ConflictError,
    DatasetError,
    FormatError,
    ImageError,
    IntegrityError,
    KeepsightError,
    ParseError,
    StorageError,
    UnknownFormatError,
    UnsafePathError,
)
from keepsight.export import ExportReport, export_dataset
from keepsight.formats.registry import detect_all, detect_format, format_names
from keepsight.info import dataset_info
from keepsight.ingest.importer import ImportReport, import_path
from keepsight.model import (
    Annotation,
    Box,
    ClassSpec,
    LabelBook,
    Mask,
    Points,
    Polygon,
    Polyline,
    RotatedBox,
    Sample,
    Tag,
)

__version__ = "0.1.0"

__all__ = [
    "Annotation",
    "AnnotationError",
    "Box",
    "ClassSpec",
    "ConflictError",
    "Dataset",
    "DatasetError",
    "ExportReport",
    "FormatError",
    "ImageError",
    "ImportReport",
    "IntegrityError",
    "KeepsightError",
    "LabelBook",
    "Mask",
    "ParseError",
    "Points",
    "Polygon",
    "Polyline",
    "RotatedBox",
    "Sample",
    "StorageError",
    "Tag",
    "UnknownFormatError",
    "UnsafePathError",
    "__version__",
    "dataset_info",
    "detect_all",
    "detect_format",
    "export_dataset",
    "format_names",
    "import_path",
]
