"""The input formats and the columns each reads, in their canonical spelling (header names are matched
case-insensitively and rewritten to these)."""

from __future__ import annotations

from recsys_assets.catalog.reading import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from recsys_assets.formats import personalize, suppression

AUTO = "auto"
KAGGLE, ORDER_LINES = "kaggle", "order-lines"
# Online Retail's header; Description and Country are optional.
ORDER_LINE_REQUIRED = ("InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID")
ORDER_LINE_COLUMNS = (*ORDER_LINE_REQUIRED, "Description", "Country")
FORMAT_COLUMNS = {
    KAGGLE: (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS),
    personalize.FORMAT: personalize.COLUMNS,
    ORDER_LINES: ORDER_LINE_COLUMNS,
    suppression.FORMAT: suppression.COLUMNS,
}
# The columns every file of a format has (Personalize's depend on the dataset, a suppression list's are either).
REQUIRED = {KAGGLE: REQUIRED_COLUMNS, ORDER_LINES: ORDER_LINE_REQUIRED}
