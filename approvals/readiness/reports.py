"""The report files pipelines already produce, turned into a check result.

- JUnit XML (every test runner writes it): counts of tests, failures, errors and skipped, from
  junitparser; failed when any test failed or erred.
- SARIF 2.1 (security scanners): results counted by level; failed when any result is an error.

Both are read with a size limit (``MAX_REPORT_BYTES``), and XML through defusedxml, which
refuses DTDs and entities: no entity expansion ("billion laughs"), no external entities.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from django.core.exceptions import ValidationError
from junitparser import JUnitXml, TestSuite
from junitparser.junitparser import JUnitXmlError

from .models import CheckStatus

MAX_REPORT_BYTES = 5 * 1024 * 1024
SARIF_LEVELS = ("error", "warning", "note", "none")


@dataclass(frozen=True)
class Parsed:
    status: str
    summary: str
    details: dict[str, Any]


def _too_large(field: str) -> ValidationError:
    limit = MAX_REPORT_BYTES
    size = f"{limit // 2**20} MB" if limit >= 2**20 else f"{limit:,} bytes"
    return ValidationError({field: f"The file is larger than the {size} limit."})


def _read(upload, field: str) -> bytes:
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_REPORT_BYTES:
        raise _too_large(field)
    data = upload.read(MAX_REPORT_BYTES + 1)
    if len(data) > MAX_REPORT_BYTES:
        raise _too_large(field)
    if not data.strip():
        raise ValidationError({field: "The file is empty."})
    return data


def parse_junit(upload, field: str = "junit") -> Parsed:
    data = _read(upload, field)
    try:
        root = ElementTree.fromstring(data, forbid_dtd=True)
        if root.tag not in ("testsuites", "testsuite"):
            raise ValidationError(
                {field: "Not JUnit XML: the root is neither testsuites nor testsuite."}
            )
        report = JUnitXml.fromroot(root)
        suites = [report] if isinstance(report, TestSuite) else list(report)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for suite in suites:
            suite.update_statistics()
            for key in counts:
                counts[key] += int(getattr(suite, key) or 0)
    except DefusedXmlException as error:
        raise ValidationError(
            {field: "The XML declares a DTD or entities; they are refused."}
        ) from error
    except (ElementTree.ParseError, JUnitXmlError, ValueError, TypeError) as error:
        raise ValidationError({field: f"Not valid JUnit XML: {error}"[:300]}) from error
    failed = counts["failures"] + counts["errors"]
    status = CheckStatus.FAILED if failed else CheckStatus.PASSED
    summary = (
        f"{counts['tests']} tests: {counts['failures']} failed, {counts['errors']} errors, "
        f"{counts['skipped']} skipped"
    )
    return Parsed(status, summary, {"junit": counts})


def parse_sarif(upload, field: str = "sarif") -> Parsed:
    data = _read(upload, field)
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise ValidationError({field: "Not valid JSON."}) from error
    runs = document.get("runs") if isinstance(document, dict) else None
    if not isinstance(runs, list):
        raise ValidationError({field: 'Not SARIF: no "runs" list.'})
    counts = dict.fromkeys(SARIF_LEVELS, 0)
    for run in runs:
        results = run.get("results", []) if isinstance(run, dict) else None
        if not isinstance(results, list):
            raise ValidationError({field: 'Not SARIF: a run\'s "results" is not a list.'})
        for result in results:
            level = result.get("level", "warning") if isinstance(result, dict) else None
            if level not in counts:
                raise ValidationError({field: f"Not SARIF: unknown level {str(level)[:20]!r}."})
            counts[level] += 1
    status = CheckStatus.FAILED if counts["error"] else CheckStatus.PASSED
    summary = ", ".join(f"{counts[level]} {level}" for level in SARIF_LEVELS[:3])
    return Parsed(status, summary, {"sarif": counts})
