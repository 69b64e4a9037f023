"""Sphinx configuration: the API reference from the docstrings, the guide from README.md.

Built by ``nox -s docs`` (HTML, then the doctest builder), warnings as errors.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import imspatch

ROOT = Path(__file__).resolve().parent.parent

project = "imspatch"
author = "imspatch developers"
copyright = "imspatch developers"
release = imspatch.__version__
version = release

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.doctest"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
root_doc = "index"

# The README renders on GitHub and on the registry too: plain CommonMark plus tables.
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True  # `rules=IMS`, not the rule set's whole repr
autodoc_default_options = {"show-inheritance": True}

# The examples run (sphinx-build -b doctest) as pytest runs them: from the repository root,
# so that they may read examples/, and with the public names at hand, as in the module a
# docstring belongs to.
doctest_test_doctest_blocks = "default"
doctest_global_setup = f"import os; os.chdir({str(ROOT)!r}); from imspatch import *"

# Nitpicky (-n): every reference must resolve, except into libraries whose inventories the
# build cannot fetch (no intersphinx: CI reaches no documentation site).
nitpick_ignore_regex = [
    ("py:class", r"(collections|enum|typing|types|hypothesis|aiohttp|asyncio)(\..+)?")
]
nitpick_ignore = [
    # an instance attribute set in HTTPSystem.__init__ with no ``#:`` comment to document it
    ("py:attr", "leaked"),
]

html_theme = "alabaster"
html_title = f"imspatch {release}"

#: every public module: each name of its __all__ must be documented somewhere
PUBLIC_MODULES = (
    "imspatch", "imspatch.errors", "imspatch.rules", "imspatch.operations",
    "imspatch.strategies", "imspatch.conformance", "imspatch.offline", "imspatch.proxy",
)  # fmt: skip


def _every_public_name_is_documented(app: Any, env: Any) -> None:
    from sphinx.util import logging  # noqa: PLC0415

    documented = set(env.get_domain("py").objects)
    modules = {name: importlib.import_module(name) for name in PUBLIC_MODULES}
    for module_name, module in modules.items():
        for name in module.__all__:
            obj = getattr(module, name)
            # documented under any public module that offers the same object will do
            homes = {f"{m}.{name}" for m, mod in modules.items() if getattr(mod, name, None) is obj}
            if not name.startswith("__") and not homes & documented:
                logging.getLogger(__name__).warning(
                    "%s.%s is public (in __all__) but not in the API reference", module_name, name
                )


def _hide_private_bases(app: Any, name: str, obj: Any, options: Any, bases: list[Any]) -> None:
    """``Bases: imspatch._frozen.Frozen`` tells a reader nothing they can use."""
    bases[:] = [b for b in bases if not getattr(b, "__module__", "").startswith("imspatch._")]


def _resolve_reexports(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Docstrings name things where they are defined (``IMS`` in imspatch.rules,
    ``Rules.replace``); the reference documents them where users import them, under
    ``imspatch``: try that before calling a reference broken."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    if not (target.startswith("imspatch") or (node.get("py:module") or "").startswith("imspatch")):
        return None
    parts = target.split(".")
    candidates = [f"imspatch.{'.'.join(parts[i:])}" for i in range(len(parts))]
    if node.get("py:class"):
        candidates.insert(0, f"imspatch.{node['py:class']}.{target}")
    domain = env.get_domain("py")
    for name in candidates:
        if name in domain.objects:
            return domain.resolve_xref(
                env, node["refdoc"], app.builder, node["reftype"], name, node, contnode
            )
    return None


def _markdown_examples_are_doctests(app: Any, doctree: Any) -> None:
    """A README code block of ``>>>`` lines is a doctest (pytest's --doctest-glob runs it
    too); MyST reads it as a literal block, which the doctest builder would skip."""
    from docutils import nodes  # noqa: PLC0415

    for block in list(doctree.findall(nodes.literal_block)):
        if block.get("language") == "python" and block.astext().startswith(">>> "):
            block.replace_self(nodes.doctest_block(block.rawsource, block.astext()))


def _short_rule_set_defaults(
    app: Any, what: str, name: str, obj: Any, options: Any, signature: str | None, ret: str | None
) -> tuple[str | None, str | None]:
    """Where autodoc cannot read a default from the source (a decorated function), it
    prints the default's repr: a rule set prints as the name it is imported by."""
    for rules in ("IMS", "GLANCE"):
        shown = repr(getattr(imspatch, rules))
        signature = signature and signature.replace(shown, rules)
    return signature, ret


def setup(app: Any) -> None:
    app.connect("autodoc-process-signature", _short_rule_set_defaults)
    app.connect("doctree-read", _markdown_examples_are_doctests)
    app.connect("env-check-consistency", _every_public_name_is_documented)
    app.connect("autodoc-process-bases", _hide_private_bases)
    app.connect("missing-reference", _resolve_reexports)
