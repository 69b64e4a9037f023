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

from ._api import apply_patch, dump_patch, iter_errors, parse_patch, patch_image
from ._decode import DEFAULT_LIMITS, Limits
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
    "dump_patch",
    "iter_errors",
    "parse_patch",
    "patch_image",
]
