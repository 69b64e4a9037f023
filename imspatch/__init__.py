"""imspatch: the reference engine for ``PATCH /v2/images/{image_id}``.

OpenStack Glance and Huawei Cloud IMS, both JSON-patch dialects, both rule
sets, no I/O, all or nothing::

    >>> import imspatch
    >>> image = {"id": "33ad552d", "name": "ims_test", "status": "active"}
    >>> body = b'[{"op": "replace", "path": "/name", "value": "test01"}]'
    >>> imspatch.patch_image(
    ...     image, body, media_type="application/openstack-images-v2.1-json-patch"
    ... )["name"]
    'test01'
"""

# The names below are imported on first use (PEP 562), so that ``imspatch
# --help`` and ``import imspatch.errors`` do not pay for the whole engine.
# Type checkers and IDEs read the TYPE_CHECKING block; keep both lists equal
# (a test should check that every name in __all__ resolves).

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._api import apply_patch, dump_patch, iter_errors, parse_patch, patch_image
    from ._decode import DEFAULT_LIMITS, Limits
    from ._diff import diff_images, iter_diff_errors
    from .errors import (
        ACCEPT_PATCH,
        ERROR_CODES,
        MEDIA_TYPES,
        ForbiddenChange,
        HTTPResponse,
        LimitExceeded,
        MalformedPatch,
        PatchConflict,
        PatchError,
        UnsupportedMediaType,
    )
    from .operations import Add, Operation, Pointer, Remove, Replace
    from .rules import GLANCE, IMS, Field, Rules

__version__ = "0.1.0"

_SOURCES = {
    "._api": ("apply_patch", "dump_patch", "iter_errors", "parse_patch", "patch_image"),
    "._decode": ("DEFAULT_LIMITS", "Limits"),
    "._diff": ("diff_images", "iter_diff_errors"),
    ".errors": (
        "ACCEPT_PATCH", "ERROR_CODES", "MEDIA_TYPES", "ForbiddenChange", "HTTPResponse",
        "LimitExceeded", "MalformedPatch", "PatchConflict", "PatchError",
        "UnsupportedMediaType",
    ),
    ".operations": ("Add", "Operation", "Pointer", "Remove", "Replace"),
    ".rules": ("GLANCE", "IMS", "Field", "Rules"),
}  # fmt: skip
_WHERE = {name: module for module, names in _SOURCES.items() for name in names}

__all__ = [
    "ACCEPT_PATCH",
    "DEFAULT_LIMITS",
    "ERROR_CODES",
    "GLANCE",
    "IMS",
    "MEDIA_TYPES",
    "Add",
    "Field",
    "ForbiddenChange",
    "HTTPResponse",
    "LimitExceeded",
    "Limits",
    "MalformedPatch",
    "Operation",
    "PatchConflict",
    "PatchError",
    "Pointer",
    "Remove",
    "Replace",
    "Rules",
    "UnsupportedMediaType",
    "__version__",
    "apply_patch",
    "diff_images",
    "dump_patch",
    "iter_diff_errors",
    "iter_errors",
    "parse_patch",
    "patch_image",
]


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        msg = f"module 'imspatch' has no attribute {name!r}"
        raise AttributeError(msg)
    # __import__ rather than importlib.import_module: importlib (and warnings,
    # which it imports) is not loaded at start-up, and the engine need not load it.
    value = getattr(__import__(module[1:], globals(), None, (name,), 1), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
