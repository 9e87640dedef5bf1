"""Styles computed per page without style attributes, so the Content-Security-Policy can refuse
every style attribute (an injected one included) and still let pages colour and place things.

A template writes ``class="slot {% styled 'left: {}%; width: {}%' block.left block.width %}"``:
the tag answers a class named after the declarations and keeps the rule on the request;
``{% page_styles %}`` (at the end of base.html's body) writes the page's rules into one
``<style>`` element carrying the request's CSP nonce. A page that does not extend base.html (an
admin page) must write ``{% page_styles %}`` itself, last. The rules are ``!important`` because
the attributes they replace beat every class rule, and so must they.

The declarations are the template's own text; the values come from data (a team's colour), so
each must be a number, a percentage, a word or a hex colour: anything else drops the rule, since
a value holding ``}`` or ``<`` would otherwise end the rule, or the element, and write its own.
"""

from __future__ import annotations

import hashlib
import re

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

SAFE_VALUE = re.compile(r"[-\w.#%]+")


def _rules(request) -> dict[str, str]:
    if not hasattr(request, "_relcal_page_styles"):
        request._relcal_page_styles = {}
    return request._relcal_page_styles


@register.simple_tag(takes_context=True)
def styled(context, declarations: str, *values) -> str:
    """The class that gives an element ``declarations`` with ``{}`` replaced by ``values``."""
    request = context.get("request")
    texts = [str(value) for value in values]
    if request is None or not all(SAFE_VALUE.fullmatch(text) for text in texts):
        return ""
    body = declarations.format(*texts)
    name = "s-" + hashlib.sha256(body.encode()).hexdigest()[:12]
    important = ";".join(
        f"{declaration.strip()} !important"
        for declaration in body.split(";")
        if declaration.strip()
    )
    _rules(request)[name] = f".{name}{{{important}}}"
    return name


@register.simple_tag(takes_context=True)
def page_styles(context) -> SafeString:
    """The page's ``styled`` rules in one ``<style>`` element with the CSP nonce (or nothing)."""
    request = context.get("request")
    rules = getattr(request, "_relcal_page_styles", None)
    if not rules:
        return mark_safe("")
    # Every rule is built from the templates' own text and checked values: safe to write raw.
    css = mark_safe("\n".join(rules.values()))
    return format_html('<style nonce="{}">\n{}\n</style>', request.csp_nonce, css)
