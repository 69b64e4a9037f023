"""``imspatch proxy``: a validating gateway in front of OpenStack Glance or Huawei IMS.

Needs the optional dependencies ``pip install 'imspatch[proxy]'`` (aiohttp, WebOb).

``PATCH /v2/images/{id}`` is judged by :func:`imspatch.patch_image` against the
image the upstream shows the caller (``GET`` with the caller's own headers):
refused here with the engine's answer, rendered as the upstream renders its
refusals, or forwarded with its body bytes unchanged.  Every other request is
relayed as it came, streaming both ways::

    imspatch proxy --upstream http://127.0.0.1:9292 --listen 127.0.0.1:9293 --rules ims

From Python, :func:`make_app` gives the aiohttp application and :func:`serve`
runs it until told to stop.
"""

from ._gateway import PATCH_BODY, VERDICT, Config, make_app
from ._main import main, serve

__all__ = ["PATCH_BODY", "VERDICT", "Config", "main", "make_app", "serve"]
