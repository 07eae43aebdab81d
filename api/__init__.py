"""The outside of twinhood: the command line and the local stack (the GraphQL API lands here).

`api` may import every other package; none imports `api`.
"""

from api.stack import Service, StackSettings, down, up

__all__ = ["Service", "StackSettings", "down", "up"]
