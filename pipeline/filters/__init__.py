"""Quality filters of StarCoderData and The Stack v2, as :class:`pipeline.stage.RecordFilter`
rules, and the "quality" stage that applies them."""
from pipeline.filters.content import (
    AlphanumericFractionFilter,
    MaxLineLengthFilter,
    MeanLineLengthFilter,
)
from pipeline.filters.formats import (
    DataFileSizeFilter,
    HtmlVisibleTextFilter,
    XmlDeclarationFilter,
)
from pipeline.filters.generated import GeneratedFilter
from pipeline.filters.quality import QualityStage, quality_filters
from pipeline.filters.vendored import VendoredFilter

__all__ = [
    "AlphanumericFractionFilter",
    "DataFileSizeFilter",
    "GeneratedFilter",
    "HtmlVisibleTextFilter",
    "MaxLineLengthFilter",
    "MeanLineLengthFilter",
    "QualityStage",
    "VendoredFilter",
    "XmlDeclarationFilter",
    "quality_filters",
]
