"""The outside of twinhood: the command line, the local stack, the HTTP app and its services.

`create_app` is the FastAPI app (tiles, BIM scenes, ingestion, health); `build_services` is the
one place that connects to the stores; `up`/`down` run the local servers. `api` may import every
other package; none imports `api`.
"""

from api.app import create_app
from api.bootstrap import Services, build_services
from api.stack import Service, StackSettings, down, up

__all__ = ["Service", "Services", "StackSettings", "build_services", "create_app", "down", "up"]
