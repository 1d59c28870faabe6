"""The quality stage: every rule of the package, in order, from the config."""
from __future__ import annotations

from pipeline.config import FilterConfig
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
from pipeline.filters.vendored import VendoredFilter
from pipeline.reasons import Reason
from pipeline.stage import FilterStage, RecordFilter


def quality_filters(config: FilterConfig) -> list[RecordFilter]:
    """The rules in the order they are tried; the first one a record violates is its reason.

    Path rules come first (a vendored or generated file is that, whatever its text), then
    the rules for one format (XML, data files, HTML: the more specific reason, and the
    first two cost next to nothing), then StarCoderData's basic filters in the order of
    bigcode's ``filtering.py``. Vendored and generated are left out when the config turns
    them off.
    """
    rules: list[RecordFilter] = []
    if config.drop_vendored:
        rules.append(VendoredFilter())
    if config.drop_generated:
        rules.append(GeneratedFilter(config.generated_header_chars))
    rules += [
        XmlDeclarationFilter(config.xml_declaration_window),
        DataFileSizeFilter(config.data_min_chars, config.data_max_chars, config.data_languages),
        HtmlVisibleTextFilter(config.html_min_visible_fraction, config.html_min_visible_chars),
        MaxLineLengthFilter(config.max_line_length, config.line_length_exempt),
        MeanLineLengthFilter(config.max_mean_line_length, config.line_length_exempt),
        AlphanumericFractionFilter(config.min_alphanumeric_fraction),
    ]
    return rules


class QualityStage(FilterStage):
    """The "quality" stage: :func:`quality_filters` over the records still kept."""

    name = "quality"
    config_sections = ("filters",)
    code = ("pipeline.filters", "pipeline.stage")
    reasons = (Reason.VENDORED, Reason.GENERATED, Reason.XML_DECLARATION, Reason.DATA_FILE_SIZE,
               Reason.HTML_VISIBLE_TEXT, Reason.MAX_LINE_LENGTH, Reason.MEAN_LINE_LENGTH,
               Reason.ALPHANUMERIC_FRACTION)

    def __init__(self, config: FilterConfig):
        super().__init__(quality_filters(config))
