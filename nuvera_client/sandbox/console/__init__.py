"""The sandbox console: the platform's screens in a browser, and a request inspector.

``mount_console(api_app, sandbox)`` (``_host``) serves the console under ``/console``
(loopback only) and records every other request in the request log
(``_requestlog``) before handing it to the API app. The screens themselves
(``_web``) need Jinja2 and are imported on the first ``/console`` request.
"""

from __future__ import annotations
